import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { testController } from '../../test/support/controller.js';
import {
  type ChatCompletionRequest,
  type OpenAITestServer,
  promptText,
  startOpenAITestServer,
  systemPrompt,
} from '../../test/support/openai-server.js';
import { CancelledError, LlmError } from '../core/errors.js';
import type { RunEvent } from '../core/events.js';
import type { ControllerModel } from '../core/llm.js';
import { planTasks } from './index.js';

let server: OpenAITestServer;
let controller: ControllerModel;

beforeEach(async () => {
  server = await startOpenAITestServer();
  controller = testController(server, {
    apiKey: 'sk-test-planner-key',
    contextTokens: 16_000,
    timeoutMs: 20_000,
  });
});
afterEach(() => server.close());

function recorder(): { events: RunEvent[]; types: () => string[]; onEvent: (event: RunEvent) => void } {
  const events: RunEvent[] = [];
  return { events, types: () => events.map((event) => event.type), onEvent: (event) => events.push(event) };
}

const lastUserMessage = (request: ChatCompletionRequest): string => {
  const content = request.messages.filter((message) => message.role === 'user').at(-1)?.content;
  return typeof content === 'string' ? content : '';
};

describe('planTasks against an OpenAI-compatible server', () => {
  test('plans the zebra-counting request into three detections from a structured-output reply', async () => {
    server.enqueue(
      JSON.stringify({
        tasks: ['a.jpg', 'b.jpg', 'c.jpg'].map((image, id) => ({
          task: 'object-detection',
          id,
          dep: [-1],
          args: { text: null, image, audio: null, video: null },
        })),
      }),
    );
    const events = recorder();
    const outcome = await planTasks({
      request:
        'Given a collection of images A: a.jpg, B: b.jpg, C: c.jpg, how many zebras are in these pictures?',
      controller,
      onEvent: events.onEvent,
    });
    assert.equal(outcome.ok, true);
    assert.deepEqual(outcome.problems, []);
    assert.deepEqual(outcome.plan, [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } },
      { id: 1, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } },
      { id: 2, task: 'object-detection', dep: [-1], args: { image: 'c.jpg' } },
    ]);
    assert.equal(outcome.llmCalls, 1);
    assert.ok(outcome.usage.inputTokens > 0 && outcome.usage.outputTokens > 0);
    assert.deepEqual(events.types(), ['plan-start', 'plan-done']);

    const request = server.requests[0]!;
    assert.ok(systemPrompt(request).includes('#1 Task Planning Stage'));
    assert.equal(request.response_format?.type, 'json_schema');
    assert.equal(request.response_format?.json_schema?.name, 'task_plan');
    assert.ok(lastUserMessage(request).includes('a.jpg, B: b.jpg, C: c.jpg'));
  });

  test('accepts a HuggingGPT-style list in a fence even when a schema was asked for', async () => {
    server.enqueue(
      'Here you go:\n```json\n[{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "page.png"}}, {"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED-0>"}}]\n```',
    );
    const outcome = await planTasks({ request: 'Read page.png aloud', controller });
    assert.equal(outcome.ok, true);
    assert.deepEqual(outcome.plan, [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'page.png' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
    ]);
  });

  test('repairs an unknown task in one more round that shows the LLM its reply and the problem', async () => {
    const bad = '[{"task": "pose-detection-v2", "id": 0, "dep": [-1], "args": {"image": "d.jpg"}}]';
    server.enqueue(bad, '[{"task": "openpose-control", "id": 0, "dep": [-1], "args": {"image": "d.jpg"}}]');
    const events = recorder();
    const outcome = await planTasks({
      request: 'Show me the pose in d.jpg',
      controller,
      onEvent: events.onEvent,
    });
    assert.equal(outcome.ok, true);
    assert.deepEqual(outcome.plan, [
      { id: 0, task: 'openpose-control', dep: [-1], args: { image: 'd.jpg' } },
    ]);
    assert.equal(outcome.llmCalls, 2);
    assert.deepEqual(events.types(), ['plan-start', 'plan-repair', 'plan-done']);
    const repair = events.events[1] as Extract<RunEvent, { type: 'plan-repair' }>;
    assert.deepEqual(repair.problems, [
      'Task 0: "pose-detection-v2" is not an available task; the closest is "openpose-control".',
    ]);

    const second = server.requests[1]!;
    const assistant = second.messages.filter((message) => message.role === 'assistant').at(-1);
    assert.equal(assistant?.content, bad);
    assert.ok(lastUserMessage(second).includes('"pose-detection-v2" is not an available task'));
  });

  test('gives up after the repair round: ok false, empty plan, the problems and a plan-error event', async () => {
    server.enqueue('I think you should look at the picture yourself.', 'Sorry, I cannot make a list.');
    const events = recorder();
    const outcome = await planTasks({ request: 'What is in e.jpg?', controller, onEvent: events.onEvent });
    assert.equal(outcome.ok, false);
    assert.deepEqual(outcome.plan, []);
    assert.equal(outcome.raw, 'Sorry, I cannot make a list.');
    assert.match(outcome.problems[0] ?? '', /no JSON list of tasks/);
    assert.deepEqual(events.types(), ['plan-start', 'plan-repair', 'plan-error']);
    assert.equal(server.requests.length, 2);
  });

  test('chit-chat plans no task without a repair round', async () => {
    server.enqueue('[]');
    const outcome = await planTasks({ request: 'hello, who are you?', controller });
    assert.deepEqual(outcome, {
      plan: [],
      problems: [],
      ok: true,
      raw: '[]',
      usage: outcome.usage,
      llmCalls: 1,
    });
  });

  test('shows the chat history to the LLM so a file from an earlier turn can be used', async () => {
    server.rule((request) =>
      promptText(request).includes('uploads/zebra.jpg')
        ? '[{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "uploads/zebra.jpg"}}]'
        : '[]',
    );
    const outcome = await planTasks({
      request: 'Describe that photo in one sentence',
      history: [
        { role: 'user', content: 'Here is my photo uploads/zebra.jpg' },
        { role: 'assistant', content: 'I see one zebra in uploads/zebra.jpg.' },
      ],
      controller,
    });
    assert.deepEqual(outcome.plan, [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'uploads/zebra.jpg' } },
    ]);
    assert.ok(lastUserMessage(server.requests[0]!).includes('user: Here is my photo uploads/zebra.jpg'));
  });

  test('restricts the vocabulary to the available tasks in the prompt and validation', async () => {
    server.enqueue(
      '[{"task": "text-to-video", "id": 0, "dep": [-1], "args": {"text": "a cat surfing"}}]',
      '[{"task": "text-to-image", "id": 0, "dep": [-1], "args": {"text": "a cat surfing"}}]',
    );
    const outcome = await planTasks({
      request: 'Make a video of a cat surfing',
      controller,
      availableTasks: ['text-to-image', 'image-to-text'],
    });
    assert.deepEqual(outcome.plan, [
      { id: 0, task: 'text-to-image', dep: [-1], args: { text: 'a cat surfing' } },
    ]);
    const system = String(server.requests[0]!.messages[0]!.content);
    assert.ok(system.includes('text -> image: text-to-image'));
    assert.ok(!system.includes('text-to-video'));
    // The schema sent names no task (the prompt lists them); the repair round caught the unavailable one.
    assert.ok(!JSON.stringify(server.requests[0]!.response_format).includes('text-to-image'));
    assert.match(String(server.requests[1]!.messages.at(-1)!.content), /"text-to-video" cannot run here/);
  });

  test('an LLM that answers with an HTTP error is an LlmError, not a plan', async () => {
    server.enqueue({ status: 500, body: JSON.stringify({ error: { message: 'model overloaded' } }) });
    const events = recorder();
    await assert.rejects(
      planTasks({ request: 'Describe e.jpg', controller, onEvent: events.onEvent }),
      (error: unknown) => error instanceof LlmError && /model overloaded/.test(error.message),
    );
    assert.deepEqual(events.types(), ['plan-start']);
  });

  test('cancelling the signal stops planning with a CancelledError', async () => {
    server.enqueue({ content: '[]', delayMs: 3_000 });
    const abort = new AbortController();
    const pending = planTasks({ request: 'Describe e.jpg', controller, signal: abort.signal });
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(pending, CancelledError);
  });
});
