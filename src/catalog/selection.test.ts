// Stage 2 over real candidates: HuggingGPT's own model list, the Hugging Face backends, a loopback LLM.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TINY_MODELS, writeObjectDetector } from '../../scripts/make-tiny-onnx.js';
import { testController } from '../../test/support/controller.js';
import { fixture } from '../../test/support/fixtures.js';
import { type HfTestServer, startHfServer } from '../../test/support/hf-server.js';
import {
  type OpenAITestServer,
  promptText,
  startOpenAITestServer,
} from '../../test/support/openai-server.js';
import { createHfInferenceBackend } from '../backends/hf-inference/index.js';
import { createTransformersBackend } from '../backends/transformers/index.js';
import type { TaskGraph } from '../core/graph.js';
import { selectModels } from '../select/index.js';
import { createCatalog, createCatalogFileSource } from './index.js';

const P0_MODELS = fixture('hub', 'p0_models.jsonl');
const TOKEN = 'hf_selectionTestToken1';

const plan: TaskGraph = [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'c.jpg' } }];
const request = 'How many zebras are in c.jpg?';

describe('model selection among the models HuggingGPT offered (p0_models.jsonl)', {}, () => {
  let llm: OpenAITestServer;
  /** The Hub's status call, as selection makes it for the best-ranked candidates: every detector is live. */
  let hub: HfTestServer;
  const hfBackend = () => createHfInferenceBackend({ token: TOKEN, hubUrl: hub.url });
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-selection-'));
  const controller = () => testController(llm);
  const sources = () => [createCatalogFileSource(P0_MODELS, { hfToken: TOKEN })];
  const transformers = () =>
    createTransformersBackend({
      modelsDir: join(dir, 'models'),
      cacheDir: join(dir, 'cache'),
      offline: true,
      pythonHubCache: false,
    });

  before(async () => {
    llm = await startOpenAITestServer();
    const detectors = readFileSync(P0_MODELS, 'utf8')
      .split('\n')
      .filter((line) => line.includes('"object-detection"'))
      .map((line) => /"id":\s*"([^"]+)"/.exec(line)?.[1])
      .filter((id): id is string => id !== undefined);
    hub = await startHfServer({
      models: detectors.map((id) => ({
        id,
        task: 'object-detection',
        providers: { 'hf-inference': { status: 'live', task: 'object-detection' } },
      })),
    });
    writeObjectDetector(join(dir, 'models', TINY_MODELS.objectDetector));
  });
  after(async () => {
    await llm.close();
    await hub.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the LLM sees the top-K candidates with their model card text and its pick is used', async () => {
    llm.enqueue(
      JSON.stringify({
        choices: [
          {
            task_id: 0,
            model: 'hf-inference:facebook/detr-resnet-50',
            reason: 'DETR counts COCO animals well',
          },
        ],
      }),
    );
    const catalog = createCatalog({
      backends: [hfBackend()],
      sources: sources(),
      mode: 'huggingface',
    });
    const { choices } = await selectModels({
      plan,
      request,
      catalog,
      strategy: 'llm',
      topK: 5,
      descriptionChars: 200,
      controller: controller(),
    });
    const prompt = promptText(llm.requests.at(-1)!);
    // The five most downloaded detection models of the file, described by their own cards.
    for (const id of ['hustvl/yolos-tiny', 'facebook/detr-resnet-50', 'google/owlvit-base-patch32']) {
      assert.ok(prompt.includes(`hf-inference:${id}`), id);
    }
    assert.match(prompt, /DETR \(End-to-End Object Detection\) model with ResNet-50 backbone/);
    assert.doesNotMatch(prompt, /SalML\/DETR-table-structure-recognition/, 'only the top K are shown');
    const choice = choices.get(0);
    assert.equal(choice?.backend, 'hf-inference');
    assert.equal(choice?.modelId, 'facebook/detr-resnet-50');
    assert.equal(choice?.reason, 'DETR counts COCO animals well');
    assert.equal(choice?.candidates.length, 5);
  });

  test('a pick that is not among the candidates is refused and the top candidate used', async () => {
    llm.enqueue(
      JSON.stringify({ choices: [{ task_id: 0, model: 'hf-inference:made-up/detector', reason: 'x' }] }),
    );
    const catalog = createCatalog({
      backends: [hfBackend()],
      sources: sources(),
      mode: 'huggingface',
    });
    const { choices } = await selectModels({
      plan,
      request,
      catalog,
      strategy: 'llm',
      topK: 3,
      descriptionChars: 100,
      controller: controller(),
    });
    assert.equal(choices.get(0)?.modelId, 'hustvl/yolos-tiny');
    assert.match(choices.get(0)?.reason ?? '', /made-up\/detector/);
  });

  test('hybrid mode offers the runnable local ONNX model first, marked local, beside the Hub models', async () => {
    llm.enqueue(
      JSON.stringify({
        choices: [{ task_id: 0, model: `transformers:${TINY_MODELS.objectDetector}`, reason: 'runs here' }],
      }),
    );
    const catalog = createCatalog({
      backends: [hfBackend(), transformers()],
      sources: sources(),
      mode: 'hybrid',
    });
    const { choices } = await selectModels({
      plan,
      request,
      catalog,
      strategy: 'llm',
      topK: 4,
      descriptionChars: 100,
      controller: controller(),
    });
    assert.equal(choices.get(0)?.candidates[0], `transformers:${TINY_MODELS.objectDetector}`);
    assert.match(
      promptText(llm.requests.at(-1)!),
      /Candidates for object-detection:\n- transformers:jarvis-tiny\/colour-detector \(local\):/,
    );
    assert.equal(choices.get(0)?.backend, 'transformers');
  });

  test('without a token, hybrid mode runs the local model without asking the LLM', async () => {
    const calls = llm.requests.length;
    const catalog = createCatalog({
      backends: [createHfInferenceBackend({}), transformers()],
      sources: [createCatalogFileSource(P0_MODELS)],
      mode: 'hybrid',
    });
    const { choices, unavailable } = await selectModels({
      plan,
      request,
      catalog,
      strategy: 'llm',
      topK: 5,
      descriptionChars: 100,
      controller: controller(),
    });
    assert.equal(llm.requests.length, calls);
    assert.equal(choices.get(0)?.modelId, TINY_MODELS.objectDetector);
    assert.equal(choices.get(0)?.reason, 'The only runnable candidate.');
    assert.equal(unavailable.size, 0);
  });
});
