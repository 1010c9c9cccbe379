import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixture } from '../../test/support/fixtures.js';
import { type HfTestServer, startHfServer } from '../../test/support/hf-server.js';
import { createLocalBackend } from '../backends/local/index.js';
import { modelKey } from '../core/backend.js';
import { NoSuchModelError } from '../core/errors.js';
import { createCatalog, createCatalogFileSource, createHubSource, HF_TOKEN_REASON } from './index.js';

const P0_MODELS = fixture('hub', 'p0_models.jsonl');

const temporaryDir = (): string => mkdtempSync(join(tmpdir(), 'jarvis-catalog-'));

describe('catalog file source (HuggingGPT p0_models.jsonl)', () => {
  test('lists the 30 object-detection models of the file with their card text, downloads and tags', async () => {
    const source = createCatalogFileSource(P0_MODELS, { hfToken: 'hf_test_token_123' });
    const cards = await source.list('object-detection');
    assert.equal(cards.length, 30);
    const detr = cards.find((card) => card.id === 'facebook/detr-resnet-50');
    assert.ok(detr);
    assert.equal(detr.backend, 'hf-inference');
    assert.equal(detr.source, 'catalog-file');
    assert.equal(detr.downloads, 134611);
    assert.equal(detr.likes, 129);
    assert.deepEqual(detr.tags, ['object-detection', 'vision']);
    assert.match(detr.description, /DETR/);
    assert.ok(detr.description.length <= 800);
    assert.equal(detr.local, false);
    assert.equal(detr.available, true);
  });

  test('reads every one of its 673 models, including lines Python wrote with NaN', async () => {
    const source = createCatalogFileSource(P0_MODELS);
    assert.equal((await source.list()).length, 673);
    assert.doesNotMatch(source.status?.().message ?? '', /skipped/);
  });

  test('without a Hugging Face token its remote models are unavailable and say to set HF_TOKEN', async () => {
    const cards = await createCatalogFileSource(P0_MODELS).list('image-to-text');
    assert.ok(cards.length > 0);
    for (const card of cards) {
      assert.equal(card.available, false);
      assert.equal(card.reason, HF_TOKEN_REASON);
    }
  });

  test('skips lines that are not JSON or name an unknown task, and says so in its status', async () => {
    const dir = temporaryDir();
    const path = join(dir, 'models.jsonl');
    writeFileSync(
      path,
      [
        '{"id": "Xenova/vit-base-patch16-224", "task": "image-classification", "downloads": 5, "backend": "transformers"}',
        'not json',
        '{"id": "someone/thing", "task": "time-travel"}',
        '',
      ].join('\n'),
    );
    const source = createCatalogFileSource(path);
    const cards = await source.list();
    assert.deepEqual(
      cards.map((card) => [card.id, card.backend, card.local]),
      [['Xenova/vit-base-patch16-224', 'transformers', true]],
    );
    assert.match(source.status?.().message ?? '', /1 models, 2 lines skipped.*line 2: not JSON/);
    // A local backend that lacks the listed model makes it unavailable, saying why.
    const catalog = createCatalog({ backends: [createLocalBackend()], sources: [source] });
    assert.equal(
      (await catalog.list('image-classification'))[0]?.reason,
      'backend "transformers" is not enabled',
    );
    await rm(dir, { recursive: true });
  });
});

describe('catalog ranking over real candidates', () => {
  test('hybrid mode puts a runnable local model before the most downloaded remote ones', async () => {
    const catalog = createCatalog({
      backends: [createLocalBackend()],
      sources: [createCatalogFileSource(P0_MODELS, { hfToken: 'hf_test_token_123' })],
      mode: 'hybrid',
    });
    const top = await catalog.candidates('text-classification', 5);
    assert.equal(top.length, 5);
    assert.equal(modelKey(top[0]!), 'local:wink-sentiment');
    // After the local model, remote ones by downloads: distilbert-sst2 (2.6M) before finbert (1.7M).
    const remote = top.slice(1).map((card) => card.id);
    assert.ok(
      remote.indexOf('distilbert-base-uncased-finetuned-sst-2-english') < remote.indexOf('ProsusAI/finbert'),
    );
  });

  test('huggingface mode offers only remote models; local mode only local ones', async () => {
    const sources = [createCatalogFileSource(P0_MODELS, { hfToken: 'hf_test_token_123' })];
    const remote = createCatalog({ backends: [createLocalBackend()], sources, mode: 'huggingface' });
    const local = createCatalog({ backends: [createLocalBackend()], sources, mode: 'local' });
    const remoteTop = await remote.candidates('token-classification', 3);
    assert.ok(remoteTop.every((card) => card.backend === 'hf-inference'));
    const localTop = await local.candidates('token-classification', 3);
    assert.deepEqual(
      localTop.map((card) => card.backend),
      ['local'],
    );
  });

  test('a model added to the catalog file shows once the listing is a second old; within it one listing serves every request', async () => {
    const dir = temporaryDir();
    const path = join(dir, 'models.jsonl');
    const line = (id: string) =>
      `{"id": "${id}", "task": "token-classification", "downloads": 5, "backend": "hf-inference"}\n`;
    writeFileSync(path, line('dslim/bert-base-NER'));
    let clock = 1_000_000;
    const catalog = createCatalog({
      backends: [createLocalBackend()],
      sources: [createCatalogFileSource(path, { hfToken: 'hf_test_token_123' })],
      now: () => clock,
    });
    const ids = async () => (await catalog.list('token-classification')).map((card) => card.id).sort();
    assert.deepEqual(await ids(), ['compromise-ner', 'dslim/bert-base-NER']);
    writeFileSync(path, line('dslim/bert-base-NER') + line('Jean-Baptiste/roberta-large-ner-english'));
    clock += 500;
    assert.deepEqual(await ids(), ['compromise-ner', 'dslim/bert-base-NER']);
    clock += 600;
    assert.deepEqual(await ids(), [
      'Jean-Baptiste/roberta-large-ner-english',
      'compromise-ner',
      'dslim/bert-base-NER',
    ]);
    await rm(dir, { recursive: true });
  });

  test('a catalog file that cannot be read is reported once and the other backends still answer', async () => {
    const notices: string[] = [];
    const catalog = createCatalog({
      backends: [createLocalBackend()],
      sources: [createCatalogFileSource('/nonexistent/models.jsonl')],
      onNotice: (message) => notices.push(message),
    });
    const cards = await catalog.candidates('token-classification', 5);
    assert.deepEqual(cards.map(modelKey), ['local:compromise-ner']);
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /Catalog file \/nonexistent\/models.jsonl cannot be read.*JARVIS_CATALOG/);
  });

  test('find lists what is available when asked for a model nobody offers', async () => {
    const catalog = createCatalog({
      backends: [createLocalBackend()],
      sources: [createCatalogFileSource(P0_MODELS)],
    });
    const found = await catalog.find('hf-inference:facebook/detr-resnet-50', 'object-detection');
    assert.equal(found.id, 'facebook/detr-resnet-50');
    await assert.rejects(catalog.find('nobody:nothing', 'object-detection'), (error: unknown) => {
      assert.ok(error instanceof NoSuchModelError);
      assert.match(
        error.message,
        /No such model "nobody:nothing". Available: .*hf-inference:hustvl\/yolos-tiny/,
      );
      return true;
    });
  });
});

describe('Hub model source (loopback Hub API)', () => {
  let server: HfTestServer;
  before(async () => {
    server = await startHfServer({
      models: [
        {
          id: 'facebook/detr-resnet-50',
          task: 'object-detection',
          downloads: 900,
          likes: 80,
          tags: ['transformers', 'object-detection'],
          readme:
            '---\nlicense: apache-2.0\ntags:\n- object-detection\n---\n# DETR (End-to-End Object Detection) model with ResNet-50 backbone\n\n![badge](https://x/y.svg)\n\nDETR model trained end-to-end on [COCO 2017](https://cocodataset.org) object detection.',
        },
        {
          id: 'hustvl/yolos-tiny',
          task: 'object-detection',
          downloads: 1200,
          likes: 30,
          readme: `YOLOS tiny. ${'A very long description. '.repeat(100)}`,
        },
        { id: 'google/owlvit-base-patch32', task: 'zero-shot-object-detection', downloads: 5000 },
        { id: 'no-card/detector', task: 'object-detection', downloads: 10, tags: ['vision', 'detection'] },
      ],
    });
  });
  after(() => server.close());

  test('lists the most downloaded models of a task with cleaned, truncated model card text', async () => {
    const cacheDir = temporaryDir();
    const source = createHubSource({
      cacheDir,
      hubUrl: server.url,
      token: 'hf_test_token_123',
      perTask: 3,
      descriptionChars: 200,
    });
    const cards = await source.list('object-detection');
    assert.deepEqual(
      cards.map((card) => [card.id, card.downloads]),
      [
        ['hustvl/yolos-tiny', 1200],
        ['facebook/detr-resnet-50', 900],
        ['no-card/detector', 10],
      ],
    );
    const detr = cards[1]!;
    assert.equal(
      detr.description,
      'DETR (End-to-End Object Detection) model with ResNet-50 backbone DETR model trained end-to-end on COCO 2017 object detection.',
    );
    assert.deepEqual(detr.tags, ['transformers', 'object-detection']);
    assert.equal(detr.backend, 'hf-inference');
    assert.equal(detr.source, 'hub');
    assert.equal(detr.available, true);
    assert.ok(cards[0]!.description.length <= 200);
    assert.ok(cards[0]!.description.endsWith('…'));
    // A model without a card is described by its tags.
    assert.equal(cards[2]!.description, 'Tags: vision, detection');
    // The listing asked the Hub for this task sorted by downloads.
    assert.ok(
      server.requests.some((r) =>
        /^\/api\/models\?.*pipeline_tag=object-detection.*sort=downloads/.test(r.path),
      ),
    );
    await rm(cacheDir, { recursive: true });
  });

  test('answers from its disk cache until the refresh age, then asks the Hub again', async () => {
    const cacheDir = temporaryDir();
    let clock = 1_000_000;
    const make = () =>
      createHubSource({ cacheDir, hubUrl: server.url, perTask: 2, refreshAgeMs: 60_000, now: () => clock });
    await make().list('object-detection');
    const listings = () => server.requests.filter((r) => r.path.startsWith('/api/models?')).length;
    const before = listings();
    clock += 30_000;
    const cached = await make().list('object-detection');
    assert.equal(listings(), before, 'a fresh cache needs no Hub call');
    assert.equal(cached.length, 2);
    clock += 60_000;
    await make().list('object-detection');
    assert.equal(listings(), before + 1, 'an old cache is refreshed');
    await rm(cacheDir, { recursive: true });
  });

  test('offline it uses the cache and says once how old it is; cards without a token say to set HF_TOKEN', async () => {
    const cacheDir = temporaryDir();
    let clock = 5_000_000;
    await createHubSource({ cacheDir, hubUrl: server.url, perTask: 2, now: () => clock }).list(
      'object-detection',
    );
    clock += 3 * 24 * 60 * 60 * 1000;
    const notices: string[] = [];
    const calls = server.requests.length;
    const offline = createHubSource({
      cacheDir,
      hubUrl: server.url,
      offline: true,
      now: () => clock,
      onNotice: (message) => notices.push(message),
    });
    const cards = await offline.list('object-detection');
    await offline.list('object-detection');
    assert.equal(server.requests.length, calls, 'offline means no request at all');
    assert.equal(cards.length, 2);
    assert.equal(cards[0]!.available, false);
    assert.equal(cards[0]!.reason, HF_TOKEN_REASON);
    assert.deepEqual(notices, [
      'Offline: Hub models for object-detection come from a cache that is 3 days old',
    ]);
    assert.match(offline.status?.().message ?? '', /3 days old/);
    await rm(cacheDir, { recursive: true });
  });

  test('with no cache and no network it says so once and the other sources still work', async () => {
    const cacheDir = temporaryDir();
    const notices: string[] = [];
    // A port nothing listens on any more: connection refused, as with no network.
    const closedPort = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    let calls = 0;
    const hub = createHubSource({
      cacheDir,
      hubUrl: `http://127.0.0.1:${closedPort}`,
      fetch: (input, init) => {
        calls += 1;
        return fetch(input, init);
      },
      token: 'hf_secret_token_abcdef',
      onNotice: (message) => notices.push(message),
    });
    const catalog = createCatalog({ backends: [createLocalBackend()], sources: [hub] });
    assert.deepEqual((await catalog.candidates('token-classification', 3)).map(modelKey), [
      'local:compromise-ner',
    ]);
    assert.deepEqual(await hub.list('object-detection'), []);
    assert.equal(notices.length, 1);
    // Having failed, it does not try again for every task.
    const attempts = calls;
    assert.deepEqual(await hub.list('image-classification'), []);
    assert.equal(calls, attempts);
    assert.match(
      notices[0]!,
      /^Hugging Face Hub unreachable \(fetch failed: .*ECONNREFUSED.*\) and nothing cached: Hub models are not listed$/,
    );
    assert.doesNotMatch(notices[0]!, /hf_secret/);
    await rm(cacheDir, { recursive: true });
  });

  test('lists nothing for HuggingGPT control tasks, which are not Hub pipeline tags', async () => {
    const cacheDir = temporaryDir();
    const calls = server.requests.length;
    const cards = await createHubSource({ cacheDir, hubUrl: server.url }).list('canny-control');
    assert.deepEqual(cards, []);
    assert.equal(server.requests.length, calls);
    await rm(cacheDir, { recursive: true });
  });
});

describe('model sources from the configuration', () => {
  test('a catalog file and the Hub in hybrid mode; no Hub in local mode; cache under the data folder', async () => {
    const { configSchema } = await import('../config/schema.js');
    const { createModelSources, inferenceCacheDir } = await import('./index.js');
    const hybrid = configSchema.parse({
      inference: { catalogFile: P0_MODELS, mode: 'hybrid' },
      dataDir: '/data',
    });
    assert.deepEqual(
      createModelSources(hybrid).map((source) => source.id),
      ['catalog-file', 'hub'],
    );
    assert.equal(inferenceCacheDir(hybrid), '/data/cache');
    const local = configSchema.parse({ inference: { mode: 'local', cacheDir: '/models' } });
    assert.deepEqual(createModelSources(local), []);
    assert.equal(inferenceCacheDir(local), '/models');
  });
});

test('model card text keeps its words and names and drops markup', async () => {
  const { cardDescription } = await import('./index.js');
  assert.equal(
    cardDescription(
      '---\nlicense: mit\n---\n# BERT base\n\n**Pretrained** on _English_ as bert_base_uncased, see [the paper](https://arxiv.org/abs/1810.04805).\n\n| metric | value |\n|---|---|\n| F1 | 0.9 |\n',
    ),
    'BERT base Pretrained on English as bert_base_uncased, see the paper.',
  );
});
