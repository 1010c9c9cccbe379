import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testController } from '../../test/support/controller.js';
import { type OpenAITestServer, startOpenAITestServer } from '../../test/support/openai-server.js';
import { planTasks } from '../plan/index.js';
import { chatResponse, generateResponse } from '../respond/index.js';
import { cutMiddle, messagesTokens, replyReserve } from './context-fit.js';
import type { ChatMessage } from './llm.js';

let server: OpenAITestServer;
before(async () => {
  server = await startOpenAITestServer();
});
after(() => server.close());

const CONTEXT = 4_000;
const sent = (): ChatMessage[] =>
  server.requests.at(-1)!.messages.map((message) => ({
    role: message.role as ChatMessage['role'],
    content: String(message.content),
  }));
const fitsContext = (messages: ChatMessage[]) => messagesTokens(messages) <= CONTEXT - replyReserve(CONTEXT);

describe('requests that do not fit the controller context', () => {
  const huge = `Please summarise this. ${'lorem ipsum dolor sit amet '.repeat(4_500)} What is the main point?`;

  test('a 120,000-character request is cut in the middle for planning, the instructions kept, with one notice', async () => {
    assert.ok(huge.length > 120_000);
    server.enqueue('[]');
    const notices: string[] = [];
    const outcome = await planTasks({
      request: huge,
      controller: testController(server, { contextTokens: CONTEXT }),
      onNotice: (message) => notices.push(message),
    });
    assert.ok(outcome.ok);
    const messages = sent();
    assert.ok(fitsContext(messages), `${messagesTokens(messages)} tokens sent`);
    assert.match(messages[0]!.content, /^#1 Task Planning Stage/);
    assert.match(messages[0]!.content, /Rules: use only these tasks/);
    const last = messages.at(-1)!.content;
    assert.ok(last.startsWith('Please summarise this.'));
    assert.ok(last.endsWith('What is the main point?'));
    assert.match(last, /\[\.\.\. \d+ characters cut here to fit the model's context \.\.\.\]/);
    assert.deepEqual(notices, [
      `The request (${huge.length} characters) is longer than the controller's context of 4000 tokens allows: its middle was cut, with a marker, to fit.`,
    ]);
  });

  test('history is left out oldest first before the request is cut, and the notice says how many messages', async () => {
    const history: ChatMessage[] = Array.from({ length: 30 }, (_, index) => ({
      role: index % 2 === 0 ? 'user' : 'assistant',
      content: `turn ${index}: ${'x'.repeat(1_500)}`,
    }));
    server.enqueue('Hello again.');
    const notices: string[] = [];
    const answer = await chatResponse({
      request: 'And what about the last one?',
      history,
      controller: testController(server, { contextTokens: CONTEXT }),
      onNotice: (message) => notices.push(message),
    });
    assert.equal(answer, 'Hello again.');
    const messages = sent();
    assert.ok(fitsContext(messages));
    assert.equal(messages.at(-1)!.content, 'And what about the last one?', 'the request itself is whole');
    assert.ok(
      messages.some((message) => message.content.startsWith('turn 29:')),
      'the newest turn is kept',
    );
    assert.ok(!messages.some((message) => message.content.startsWith('turn 0:')));
    assert.equal(notices.length, 1);
    assert.match(
      notices[0]!,
      /^\d+ earlier messages of the conversation left out to fit the controller's context of 4000 tokens\.$/,
    );
  });

  test('a result set too large for the answer is cut with a marker, the request and the instructions kept', async () => {
    server.enqueue('Done.');
    const notices: string[] = [];
    const results = Array.from({ length: 40 }, (_, id) => ({
      id,
      task: 'image-to-text' as const,
      args: { image: `page-${id}.png` },
      model: 'tesseract-ocr',
      backend: 'local',
      reason: 'OCR',
      status: 'succeeded' as const,
      output: { text: `page ${id} ${'words '.repeat(500)}` },
      error: null,
      startedAt: 0,
      endedAt: 1,
      durationMs: 1,
    }));
    await generateResponse({
      request: 'Read all forty pages and tell me what they say.',
      plan: results.map((result) => ({ id: result.id, task: result.task, dep: [-1], args: result.args })),
      results,
      controller: testController(server, { contextTokens: CONTEXT }),
      roots: [],
      onNotice: (message) => notices.push(message),
    });
    const messages = sent();
    assert.ok(fitsContext(messages));
    assert.match(messages[0]!.content, /^#4 Response Generation Stage/);
    assert.ok(messages.at(-1)!.content.startsWith('Read all forty pages and tell me what they say.'));
    assert.match(messages.at(-1)!.content, /characters cut here to fit/);
    assert.equal(notices.length, 1);
    assert.match(notices[0]!, /^The request with its results \(\d+ characters\) is longer than/);
  });

  test('cutMiddle keeps the start and the end within the limit', () => {
    const text = 'a'.repeat(500) + 'b'.repeat(500);
    const cut = cutMiddle(text, 200);
    assert.ok(cut.length <= 200);
    assert.ok(cut.startsWith('a') && cut.endsWith('b'));
    assert.equal(cutMiddle('short', 200), 'short');
  });
});
