import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { TINY_MODELS, writeImageClassifier, writeTinyModels } from '../../../scripts/make-tiny-onnx.js';
import { closedPort } from '../../../test/support/closed-port.js';
import { fixture, inferenceRequest } from '../../../test/support/expert-requests.js';
import { type HfTestServer, startHfServer } from '../../../test/support/hf-server.js';
import { pngDeclaring, wavDeclaring } from '../../../test/support/hostile-media.js';
import { createCatalog, createCatalogFileSource } from '../../catalog/index.js';
import { type InferenceBackend, modelKey } from '../../core/backend.js';
import { ModelUnavailableError } from '../../core/errors.js';
import { createHfInferenceBackend } from '../hf-inference/index.js';
import { createTransformersBackend, splitLabels } from './index.js';

const root = mkdtempSync(join(tmpdir(), 'jarvis-transformers-'));
const modelsDir = join(root, 'models');
const emptyCache = join(root, 'empty-cache');
const images = join(root, 'images');

async function solidImage(name: string, color: { r: number; g: number; b: number }): Promise<string> {
  const path = join(images, `${name}.png`);
  await sharp({ create: { width: 64, height: 48, channels: 3, background: color } })
    .png()
    .toFile(path);
  return path;
}

const image = (path: string) => ({ image: { path, mimeType: 'image/png' } });

describe('transformers backend running tiny ONNX models for real', () => {
  let backend: InferenceBackend;
  let red: string;
  let blue: string;

  before(async () => {
    writeTinyModels(modelsDir);
    const { mkdirSync } = await import('node:fs');
    mkdirSync(images, { recursive: true });
    red = await solidImage('red', { r: 230, g: 10, b: 10 });
    blue = await solidImage('blue', { r: 10, g: 20, b: 240 });
    backend = createTransformersBackend({
      modelsDir,
      cacheDir: emptyCache,
      offline: true,
      pythonHubCache: false,
    });
  });
  after(async () => {
    await backend.close?.();
    await rm(root, { recursive: true, force: true });
  });

  test('lists the models on disk as available local cards, and documented models it lacks with the reason', async () => {
    const cards = await backend.listModels('object-detection');
    const tiny = cards.find((card) => card.id === TINY_MODELS.objectDetector);
    assert.ok(tiny);
    assert.equal(tiny.available, true);
    assert.equal(tiny.local, true);
    assert.equal(tiny.source, 'cache');
    assert.ok((tiny.sizeBytes ?? 0) > 0);
    const detr = cards.find((card) => card.id === 'Xenova/detr-resnet-50');
    assert.ok(detr);
    assert.equal(detr.available, false);
    assert.match(detr.reason ?? '', /not in the model cache .* and Jarvis is offline/);
    // A T5-style model is offered for each task it can do.
    const translator = (await backend.listModels()).filter((card) => card.id === TINY_MODELS.translator);
    assert.deepEqual(translator.map((card) => card.task).sort(), [
      'summarization',
      'text2text-generation',
      'translation',
    ]);
  });

  test('classifies a red image as "red"', async () => {
    const output = await backend.infer(
      inferenceRequest('image-classification', TINY_MODELS.imageClassifier, image(red)),
    );
    assert.match(output.text ?? '', /^red \(100%\)/);
  });

  test('detects a red object, reports it, and draws its box on the image', async () => {
    const request = inferenceRequest('object-detection', TINY_MODELS.objectDetector, image(red));
    const output = await backend.infer(request);
    assert.equal(output.text, '1 red');
    const [detection] = output.data as { label: string; box: { xmin: number; xmax: number } }[];
    assert.equal(detection?.label, 'red');
    // The model boxes the centre half of the image: 64 px wide -> x from 16 to 48.
    assert.ok(
      Math.abs((detection?.box.xmin ?? 0) - 16) <= 1 && Math.abs((detection?.box.xmax ?? 0) - 48) <= 1,
    );
    const drawn = await sharp(output.artifacts![0]!.path).metadata();
    assert.deepEqual([drawn.format, drawn.width, drawn.height], ['jpeg', 64, 48]);
  });

  test('segments an image into its coloured halves and tints them on the picture', async () => {
    const halves = join(images, 'halves.png');
    const left = await sharp({
      create: { width: 32, height: 48, channels: 3, background: { r: 240, g: 10, b: 10 } },
    })
      .png()
      .toBuffer();
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 10, g: 10, b: 240 } } })
      .composite([{ input: left, left: 0, top: 0 }])
      .png()
      .toFile(halves);
    const output = await backend.infer(
      inferenceRequest('image-segmentation', TINY_MODELS.segmenter, image(halves)),
    );
    assert.equal(output.text, 'red (50% of the image), blue (50% of the image)');
    const meta = await sharp(output.artifacts![0]!.path).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 48]);
  });

  test('estimates depth as an image the size of the input', async () => {
    const output = await backend.infer(
      inferenceRequest('depth-estimation', TINY_MODELS.depthEstimator, image(blue)),
    );
    const artifact = output.artifacts?.[0];
    assert.equal(artifact?.kind, 'image');
    const meta = await sharp(artifact!.path).metadata();
    assert.deepEqual([meta.width, meta.height], [64, 48]);
  });

  test('captions images by their colour (encoder-decoder generation)', async () => {
    const redCaption = await backend.infer(
      inferenceRequest('image-to-text', TINY_MODELS.captioner, image(red)),
    );
    const blueCaption = await backend.infer(
      inferenceRequest('image-to-text', TINY_MODELS.captioner, image(blue)),
    );
    assert.equal(redCaption.text, 'red image');
    assert.equal(blueCaption.text, 'blue image');
  });

  test('translates and summarizes with seq2seq models', async () => {
    const translated = await backend.infer(
      inferenceRequest('translation', TINY_MODELS.translator, { text: 'hello world' }),
    );
    assert.equal(translated.text, 'hallo welt');
    const summary = await backend.infer(
      inferenceRequest('summarization', TINY_MODELS.summarizer, {
        text: 'the zebra is an animal of the savanna.',
      }),
    );
    assert.equal(summary.text, 'short summary');
  });

  test('zero-shot classification scores the labels written after the text', async () => {
    const output = await backend.infer(
      inferenceRequest('zero-shot-classification', TINY_MODELS.zeroShotClassifier, {
        text: 'The zebra is an animal. Labels: animals, sports, politics',
      }),
    );
    const data = output.data as { labels: string[]; scores: number[]; sequence: string };
    assert.deepEqual([...data.labels].sort(), ['animals', 'politics', 'sports']);
    assert.equal(data.sequence, 'The zebra is an animal');
    assert.ok(Math.abs(data.scores.reduce((a, b) => a + b, 0) - 1) < 1e-6);
    await assert.rejects(
      backend.infer(
        inferenceRequest('zero-shot-classification', TINY_MODELS.zeroShotClassifier, { text: 'no labels' }),
      ),
      /needs candidate labels/,
    );
  });

  test('embeds text and compares sentences', async () => {
    const embedding = await backend.infer(
      inferenceRequest('feature-extraction', TINY_MODELS.textEmbedder, { text: 'zebra' }),
    );
    const values = embedding.data as number[];
    assert.equal(values.length, 8);
    assert.ok(Math.abs(Math.hypot(...values) - 1) < 1e-4, 'normalized');
    const similarity = await backend.infer(
      inferenceRequest('sentence-similarity', TINY_MODELS.textEmbedder, {
        text: 'the zebra\nthe zebra\npolitics and music',
      }),
    );
    const scores = (similarity.data as { scores: { similarity: number }[] }).scores;
    assert.equal(scores[0]?.similarity, 1);
    assert.ok((scores[1]?.similarity ?? 1) < 1);
  });

  test('reads sentiment, names and a masked word from text', async () => {
    const happy = await backend.infer(
      inferenceRequest('text-classification', TINY_MODELS.sentimentClassifier, {
        text: 'I love this great movie',
      }),
    );
    assert.match(happy.text ?? '', /^POSITIVE \(100%\)/);
    const sad = await backend.infer(
      inferenceRequest('text-classification', TINY_MODELS.sentimentClassifier, {
        text: 'An awful movie, I hate it.',
      }),
    );
    assert.match(sad.text ?? '', /^NEGATIVE/);
    const names = await backend.infer(
      inferenceRequest('token-classification', TINY_MODELS.entityTagger, {
        text: 'Alan Turing lived in Paris.',
      }),
    );
    assert.equal(names.text, 'alan turing (PER), paris (LOC)');
    const filled = await backend.infer(
      inferenceRequest('fill-mask', TINY_MODELS.maskFiller, { text: 'The capital is [MASK].' }),
    );
    assert.match(filled.text ?? '', /^the capital is paris\. \(8\d\.\d%\)\nthe capital is berlin\./);
  });

  test('answers a question from the context that follows it', async () => {
    const output = await backend.infer(
      inferenceRequest('question-answering', TINY_MODELS.questionAnswerer, {
        text: 'Where did Alan Turing live?\nAlan Turing lived in Paris.',
      }),
    );
    assert.equal(output.text, 'paris');
  });

  test('transcribes a real 16 kHz WAV recording through the CTC pipeline', async () => {
    const output = await backend.infer(
      inferenceRequest('automatic-speech-recognition', TINY_MODELS.speechRecognizer, {
        audio: {
          path: fixture('audio', 'sense_and_sensibility_01_austen_64kb-0870.wav'),
          mimeType: 'audio/wav',
        },
      }),
    );
    // Random weights: the words are nonsense, but they come from the model's alphabet.
    assert.ok((output.text ?? '').length > 0);
    assert.match(output.text ?? '', /^[etaon ]+$/);
  });

  test('an image declaring 16000×16000 pixels is refused from its header before the pipeline decodes it', async () => {
    const path = join(root, 'huge.png');
    writeFileSync(path, pngDeclaring(16_000, 16_000));
    await assert.rejects(
      backend.infer(
        inferenceRequest('image-segmentation', TINY_MODELS.segmenter, {
          image: { path, mimeType: 'image/png' },
        }),
      ),
      {
        code: 'input',
        message: /the image is 16000×16000 \(256\.0 megapixels\), over the limit of 40 megapixels/,
      },
    );
  });

  test('a WAV declaring a 4 GHz sample rate fails the speech task at once as bad input, through the same decoder as the local backend', async () => {
    const path = join(root, 'lying.wav');
    writeFileSync(path, wavDeclaring({ sampleRate: 0xffffffff, dataBytes: 2_000 }));
    const started = performance.now();
    await assert.rejects(
      backend.infer(
        inferenceRequest('automatic-speech-recognition', TINY_MODELS.speechRecognizer, {
          audio: { path, mimeType: 'audio/wav' },
        }),
      ),
      { code: 'input', message: /sample rate of 4294967295 Hz, outside the supported 1000-192000 Hz/ },
    );
    assert.ok(performance.now() - started < 2_000);
  });

  test('with room for one loaded model, switching models frees the previous one and reloads it when needed', async () => {
    const small = createTransformersBackend({
      modelsDir,
      cacheDir: emptyCache,
      offline: true,
      pythonHubCache: false,
      maxLoadedModels: 1,
    });
    const loads: string[] = [];
    const run = (task: 'image-classification' | 'object-detection', model: string) =>
      small.infer(
        inferenceRequest(task, model, image(red), {
          onProgress: (message) => {
            if (message.startsWith('loading')) loads.push(model);
          },
        }),
      );
    assert.match((await run('image-classification', TINY_MODELS.imageClassifier)).text ?? '', /^red/);
    assert.match((await run('image-classification', TINY_MODELS.imageClassifier)).text ?? '', /^red/);
    assert.equal((await run('object-detection', TINY_MODELS.objectDetector)).text, '1 red');
    assert.match((await run('image-classification', TINY_MODELS.imageClassifier)).text ?? '', /^red/);
    assert.deepEqual(loads, [
      TINY_MODELS.imageClassifier,
      TINY_MODELS.objectDetector,
      TINY_MODELS.imageClassifier,
    ]);
    // Concurrent tasks on two models with room for one: each still runs on a live model.
    const outputs = await Promise.all(
      [0, 1, 2, 3, 4, 5].map((index) =>
        index % 2 === 0
          ? run('image-classification', TINY_MODELS.imageClassifier)
          : run('object-detection', TINY_MODELS.objectDetector),
      ),
    );
    assert.deepEqual(
      outputs.map((output, index) =>
        index % 2 === 0 ? /^red/.test(output.text ?? '') : output.text === '1 red',
      ),
      [true, true, true, true, true, true],
    );
    await small.close?.();
  });

  test('offline, a model that is not on disk fails with "not in the cache" and where it looked', async () => {
    await assert.rejects(
      backend.infer(inferenceRequest('image-classification', 'Xenova/vit-base-patch16-224', image(red))),
      (error: unknown) => {
        assert.ok(error instanceof ModelUnavailableError);
        assert.match(
          error.message,
          /model Xenova\/vit-base-patch16-224 is not in the cache \(searched .*models.*\) and Jarvis is offline/,
        );
        return true;
      },
    );
  });

  test('a model asked for a task it cannot do is refused, naming what it does', async () => {
    await assert.rejects(
      backend.infer(inferenceRequest('image-classification', TINY_MODELS.translator, image(red))),
      /jarvis-tiny\/hallo-welt-translator \(it does translation, summarization, text2text-generation, not image-classification\)/,
    );
  });

  test('a catalog file can pin transformers models: cached ones run, missing ones say they are not installed', async () => {
    const { writeFileSync } = await import('node:fs');
    const list = join(root, 'team-models.jsonl');
    writeFileSync(
      list,
      [
        `{"id": "${TINY_MODELS.imageClassifier}", "task": "image-classification", "backend": "transformers", "description": "Team colour model.", "downloads": 3}`,
        '{"id": "team/not-downloaded", "task": "image-classification", "backend": "transformers"}',
      ].join('\n'),
    );
    const catalog = createCatalog({
      backends: [backend],
      sources: [createCatalogFileSource(list)],
      mode: 'local',
    });
    const cards = await catalog.list('image-classification');
    const pinned = cards.find((card) => card.id === TINY_MODELS.imageClassifier);
    assert.equal(pinned?.available, true);
    assert.equal(pinned?.downloads, 3, 'facts from the file are merged into the backend card');
    const missing = cards.find((card) => card.id === 'team/not-downloaded');
    assert.equal(missing?.reason, 'transformers has no model team/not-downloaded installed');
  });

  test('hybrid selection among p0_models.jsonl candidates puts the runnable local model first', async () => {
    // The Hub says which of HuggingGPT's detection models an Inference Provider serves now.
    const live = { 'hf-inference': { status: 'live' as const, task: 'object-detection' } };
    const hub = await startHfServer({
      models: [
        { id: 'hustvl/yolos-tiny', task: 'object-detection', providers: live },
        { id: 'facebook/detr-resnet-101', task: 'object-detection', providers: live },
        { id: 'google/owlvit-base-patch32', task: 'object-detection', providers: {} },
      ],
    });
    try {
      const hf = createHfInferenceBackend({
        token: 'hf_test_token_123',
        hubUrl: hub.url,
        routerUrl: hub.url,
      });
      const sources = [
        createCatalogFileSource(fixture('hub', 'p0_models.jsonl'), { hfToken: 'hf_test_token_123' }),
      ];
      const hybrid = createCatalog({ backends: [backend, hf], sources, mode: 'hybrid' });
      const top = await hybrid.candidates('object-detection', 3);
      // The local model first; then the live remote models, most downloaded first (yolos-tiny 266k,
      // detr-resnet-101 56k); facebook/detr-resnet-50 (134k) is not served by any provider here.
      assert.deepEqual(top.map(modelKey), [
        `transformers:${TINY_MODELS.objectDetector}`,
        'hf-inference:hustvl/yolos-tiny',
        'hf-inference:facebook/detr-resnet-101',
      ]);
      const all = await hybrid.list('object-detection');
      const detr = all.find(
        (card) => card.id === 'facebook/detr-resnet-50' && card.backend === 'hf-inference',
      );
      assert.match(detr?.reason ?? '', /not found on the Hub/);
      const remoteOnly = createCatalog({ backends: [backend, hf], sources, mode: 'huggingface' });
      assert.ok(
        (await remoteOnly.candidates('object-detection', 3)).every((card) => card.backend === 'hf-inference'),
      );
    } finally {
      await hub.close();
    }
  });
});

describe('transformers backend downloading a missing model', () => {
  let server: HfTestServer;
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-transformers-download-'));
  const repo = join(dir, 'repo');
  const cacheDir = join(dir, 'cache');

  before(async () => {
    writeImageClassifier(repo);
    server = await startHfServer({
      models: [{ id: 'jarvis-tiny/downloadable-classifier', task: 'image-classification', folder: repo }],
    });
  });
  after(async () => {
    await server.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a model not on disk is available only while the Hub can be reached to download it', async () => {
    const curated = [
      {
        id: 'jarvis-tiny/downloadable-classifier',
        task: 'image-classification' as const,
        description: 'A tiny classifier.',
        sizeBytes: 1000,
      },
    ];
    const reachable = createTransformersBackend({
      cacheDir: join(dir, 'empty-cache-1'),
      offline: false,
      remoteHost: server.url,
      pythonHubCache: false,
      curated,
    });
    const [ready] = await reachable.listModels('image-classification');
    assert.equal(ready?.available, true);
    assert.ok(ready?.tags?.includes('download-on-first-use'));

    const unreachable = createTransformersBackend({
      cacheDir: join(dir, 'empty-cache-2'),
      offline: false,
      remoteHost: `http://127.0.0.1:${await closedPort()}`,
      pythonHubCache: false,
      curated,
    });
    const [stranded] = await unreachable.listModels('image-classification');
    assert.equal(stranded?.available, false);
    assert.match(
      stranded?.reason ?? '',
      /not in the model cache .* and http:\/\/127\.0\.0\.1:\d+ cannot be reached \(ECONNREFUSED\)/,
    );
  });

  test('online, it downloads into the cache with progress; afterwards it runs offline from the cache', async () => {
    const redPath = join(dir, 'red.png');
    await sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 250, g: 0, b: 0 } } })
      .png()
      .toFile(redPath);
    const online = createTransformersBackend({
      cacheDir,
      offline: false,
      remoteHost: server.url,
      downloadDtype: 'fp32',
      pythonHubCache: false,
      curated: [],
    });
    const progress: string[] = [];
    const output = await online.infer(
      inferenceRequest('image-classification', 'jarvis-tiny/downloadable-classifier', image(redPath), {
        onProgress: (message) => progress.push(message),
      }),
    );
    assert.match(output.text ?? '', /^red/);
    assert.match(progress[0] ?? '', /is not in the cache: downloading it into/);
    assert.ok(
      progress.some((message) => /^downloading jarvis-tiny\/downloadable-classifier: 100%/.test(message)),
      progress.join('\n'),
    );
    assert.ok(existsSync(join(cacheDir, 'jarvis-tiny', 'downloadable-classifier', 'onnx', 'model.onnx')));
    assert.ok(
      server.requests.some(
        (r) => r.path === '/jarvis-tiny/downloadable-classifier/resolve/main/onnx/model.onnx',
      ),
    );
    // An explicit download of a model already cached returns it without a request.
    const requests = server.requests.length;
    const stored = await online.download('jarvis-tiny/downloadable-classifier', 'image-classification');
    assert.equal(stored.origin, 'transformers.js cache');
    assert.equal(server.requests.length, requests);
    await online.close?.();

    const offline = createTransformersBackend({
      cacheDir,
      offline: true,
      pythonHubCache: false,
      curated: [],
    });
    const cards = await offline.listModels('image-classification');
    assert.deepEqual(
      cards.map((card) => [card.id, card.available]),
      [['jarvis-tiny/downloadable-classifier', true]],
    );
    const again = await offline.infer(
      inferenceRequest('image-classification', 'jarvis-tiny/downloadable-classifier', image(redPath)),
    );
    assert.match(again.text ?? '', /^red/);
    await assert.rejects(
      offline.download('someone/else', 'image-classification'),
      /cannot download someone\/else: Jarvis is offline/,
    );
    await offline.close?.();
  });
});

test('zero-shot labels are read from the end of the text', () => {
  assert.deepEqual(splitLabels('I watched the match. Candidate labels: sports, politics'), {
    text: 'I watched the match',
    labels: ['sports', 'politics'],
  });
  assert.equal(splitLabels('no labels here'), undefined);
});
