import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testController } from '../../test/support/controller.js';
import {
  type OpenAITestServer,
  promptText,
  startOpenAITestServer,
} from '../../test/support/openai-server.js';
import { createTestBackend } from '../../test/support/test-backend.js';
import { createCatalog } from '../catalog/index.js';
import type { RunEvent } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import { selectModels } from './index.js';

let server: OpenAITestServer;
before(async () => {
  server = await startOpenAITestServer();
});
after(() => server.close());

const controller = () => testController(server);

const twoModelBackend = createTestBackend({
  id: 'remote',
  latencyMs: 1,
  tasks: ['object-detection', 'image-to-text'],
  models: ['detr', 'yolos'],
});
const oneModelBackend = createTestBackend({
  id: 'solo',
  latencyMs: 1,
  tasks: ['text-to-speech'],
  models: ['voice'],
});
const catalog = createCatalog({ backends: [twoModelBackend, oneModelBackend] });

const plan: TaskGraph = [
  { id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } },
  { id: 1, task: 'image-to-text', dep: [-1], args: { image: 'a.jpg' } },
  { id: 2, task: 'text-to-speech', dep: [1], args: { text: '<GENERATED>-1' } },
];

describe('model selection', () => {
  test('one LLM call chooses for every task that has several candidates, with reasons', async () => {
    server.enqueue(
      JSON.stringify({
        choices: [
          { task_id: 0, model: 'remote:yolos', reason: 'YOLOS is good at counting' },
          { task_id: 1, model: 'remote:detr', reason: 'fine' },
        ],
      }),
    );
    const before = server.requests.length;
    const events: RunEvent[] = [];
    const { choices, unavailable } = await selectModels({
      plan,
      request: 'count things in a.jpg and read the caption aloud',
      catalog,
      strategy: 'llm',
      topK: 5,
      descriptionChars: 50,
      controller: controller(),
      onEvent: (event) => events.push(event),
    });
    assert.equal(server.requests.length - before, 1, 'one call for the whole plan');
    const prompt = promptText(server.requests.at(-1)!);
    assert.match(prompt, /remote:detr/);
    assert.doesNotMatch(prompt, /solo:voice/, 'a task with one candidate is not asked about');
    assert.equal(choices.get(0)?.modelId, 'yolos');
    assert.equal(choices.get(0)?.reason, 'YOLOS is good at counting');
    assert.equal(choices.get(1)?.modelId, 'detr');
    assert.equal(choices.get(2)?.modelId, 'voice');
    assert.equal(choices.get(2)?.reason, 'The only runnable candidate.');
    assert.equal(unavailable.size, 0);
    assert.equal(events.filter((event) => event.type === 'select-done').length, 3);
  });

  test('a choice outside the candidates falls back to the top one and says so', async () => {
    server.enqueue('```json\n{"choices":[{"task_id":0,"model":"openai:gpt-9-vision","reason":"best"}]}\n```');
    const { choices } = await selectModels({
      plan: plan.slice(0, 2),
      request: 'x',
      catalog,
      strategy: 'llm',
      topK: 5,
      descriptionChars: 50,
      controller: controller(),
    });
    assert.equal(choices.get(0)?.backend, 'remote');
    assert.match(choices.get(0)?.reason ?? '', /gpt-9-vision.*not a candidate/);
    assert.match(choices.get(1)?.reason ?? '', /Top-ranked/);
  });

  test('a failing selection call falls back to the top candidates instead of failing the run', async () => {
    server.enqueue({ status: 400, body: '{"error":{"message":"bad request"}}' });
    const { choices } = await selectModels({
      plan: plan.slice(0, 1),
      request: 'x',
      catalog,
      strategy: 'llm',
      topK: 5,
      descriptionChars: 50,
      controller: controller(),
    });
    assert.match(choices.get(0)?.reason ?? '', /selection call failed/);
  });

  test('`top` strategy makes no LLM call', async () => {
    const before = server.requests.length;
    const { choices } = await selectModels({
      plan,
      request: 'x',
      catalog,
      strategy: 'top',
      topK: 5,
      descriptionChars: 50,
      controller: controller(),
    });
    assert.equal(server.requests.length, before);
    assert.equal(choices.size, 3);
  });

  test('a task no model can run is reported as unavailable with the reason', async () => {
    const { choices, unavailable } = await selectModels({
      plan: [{ id: 0, task: 'text-to-video', dep: [-1], args: { text: 'a cat' } }],
      request: 'x',
      catalog,
      strategy: 'top',
      topK: 5,
      descriptionChars: 50,
    });
    assert.equal(choices.size, 0);
    assert.match(unavailable.get(0) ?? '', /No model in the catalog can run text-to-video/);
  });
});
