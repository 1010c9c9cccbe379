import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { closedPort } from '../../test/support/closed-port.js';
import { type OpenAITestServer, startOpenAITestServer } from '../../test/support/openai-server.js';
import { CancelledError, LlmError, TimeoutError } from '../core/errors.js';
import { createOpenAICompatibleController, type OpenAICompatibleSettings } from './openai-compatible.js';

let server: OpenAITestServer;
const settings = (overrides: Partial<OpenAICompatibleSettings> = {}): OpenAICompatibleSettings => ({
  baseURL: server.baseURL,
  apiKey: 'sk-test-secret-key-123456',
  model: 'test-model',
  contextTokens: 8000,
  timeoutMs: 10_000,
  maxRetries: 2,
  structuredOutputs: true,
  temperature: 0,
  ...overrides,
});
const user = (content: string) => [{ role: 'user' as const, content }];

before(async () => {
  server = await startOpenAITestServer();
});
after(() => server.close());

describe('OpenAI-compatible controller', () => {
  test('returns the reply text and counts tokens', async () => {
    server.enqueue({ content: 'hello there', usage: { prompt_tokens: 12, completion_tokens: 3 } });
    const result = await createOpenAICompatibleController(settings()).chat({
      stage: 'chat',
      messages: user('hi'),
    });
    assert.equal(result.text, 'hello there');
    assert.deepEqual(result.usage, { inputTokens: 12, outputTokens: 3 });
    assert.equal(server.headers.at(-1)?.authorization, 'Bearer sk-test-secret-key-123456');
  });

  test('keeps its connections to the LLM open: calls after the first open no new ones', async () => {
    const own = await startOpenAITestServer();
    try {
      own.rule(() => ({ content: 'ok', delayMs: 5 }));
      const controller = createOpenAICompatibleController(settings({ baseURL: own.baseURL }));
      const ask = (stream: boolean) =>
        controller.chat({
          stage: stream ? 'respond' : 'plan',
          messages: user('hi'),
          ...(stream ? { onDelta: () => {} } : {}),
        });
      // One after the other, JSON replies and streamed ones alike, share their connections: the answer of a
      // stream is complete a moment before its connection is free again, so the next call may open a second.
      for (let call = 0; call < 12; call++) await ask(call % 2 === 1);
      assert.ok(own.connections <= 2, `12 calls in a row opened ${own.connections} connections`);
      // Eight at once need eight; eight more at once reuse them.
      const before = own.connections;
      await Promise.all(Array.from({ length: 8 }, () => ask(false)));
      const opened = own.connections;
      assert.ok(opened - before <= 8, `at most one new connection per call in flight (${opened - before})`);
      // A connection is back in the pool a moment after its reply ends (a burst right on the heels of another
      // may open a few more); after that moment, every one is reused.
      await new Promise((resolve) => setTimeout(resolve, 20));
      await Promise.all(Array.from({ length: 8 }, (_, call) => ask(call % 2 === 0)));
      assert.equal(own.connections, opened, 'the second round opened no connection');
    } finally {
      await own.close();
    }
  });

  test('streams deltas in order and reports usage', async () => {
    server.enqueue({
      content: 'The answer is four zebras.',
      usage: { prompt_tokens: 5, completion_tokens: 7 },
    });
    const deltas: string[] = [];
    const result = await createOpenAICompatibleController(settings()).chat({
      stage: 'respond',
      messages: user('count'),
      onDelta: (text) => deltas.push(text),
    });
    assert.ok(deltas.length > 1, 'several chunks arrive');
    assert.equal(deltas.join(''), 'The answer is four zebras.');
    assert.equal(result.text, 'The answer is four zebras.');
    assert.deepEqual(result.usage, { inputTokens: 5, outputTokens: 7 });
    assert.equal(server.requests.at(-1)?.stream, true);
  });

  describe('streamed answers', () => {
    const stream = (overrides: Partial<OpenAICompatibleSettings> = {}, signal?: AbortSignal) => {
      const deltas: string[] = [];
      const done = createOpenAICompatibleController(settings(overrides)).chat({
        stage: 'respond',
        messages: [{ role: 'system', content: 'Be brief.' }, ...user('count')],
        onDelta: (text) => deltas.push(text),
        ...(signal ? { signal } : {}),
      });
      return { deltas, done };
    };

    test('send the system prompt and the messages, and ask for usage in the stream', async () => {
      server.enqueue({ content: 'Four zebras.', usage: { prompt_tokens: 9, completion_tokens: 3 } });
      const { deltas, done } = stream();
      assert.deepEqual((await done).usage, { inputTokens: 9, outputTokens: 3 });
      assert.equal(deltas.join(''), 'Four zebras.');
      const sent = server.requests.at(-1)!;
      assert.equal(sent.stream, true);
      assert.deepEqual(sent.stream_options, { include_usage: true });
      assert.deepEqual(
        sent.messages.map((message) => message.role),
        ['system', 'user'],
      );
      assert.equal(server.headers.at(-1)?.authorization, 'Bearer sk-test-secret-key-123456');
    });

    test('a 429 is retried after its Retry-After, then the answer streams', async () => {
      server.enqueue({ status: 429, headers: { 'retry-after': '1' } }, 'streamed after retry');
      const started = Date.now();
      const { deltas, done } = stream();
      assert.equal((await done).text, 'streamed after retry');
      assert.equal(deltas.join(''), 'streamed after retry');
      assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
    });

    test('a Retry-After given as an HTTP date is waited for too (it used to mean the 2 s default)', async () => {
      // Whole seconds only in an HTTP date: 6 s from now is 5-6 s away, well past the default's 2 s (2.7 s here).
      const at = new Date(Date.now() + 6000).toUTCString();
      server.enqueue({ status: 503, headers: { 'retry-after': at } }, 'after the date');
      const started = Date.now();
      const { done } = stream();
      assert.equal((await done).text, 'after the date');
      assert.ok(Date.now() - started >= 4500, `waited ${Date.now() - started} ms`);
    });

    test('a persistent 500 becomes an LlmError naming the status and the attempts, key redacted', async () => {
      const failing = {
        status: 500,
        body: '{"error":{"message":"boom sk-test-secret-key-123456"}}',
        headers: { 'retry-after': '0' },
      };
      server.enqueue(failing, failing);
      const error = await stream({ maxRetries: 1 }).done.catch((caught: unknown) => caught);
      assert.ok(error instanceof LlmError, String(error));
      assert.match(error.message, /failed after 2 attempts, HTTP 500: boom/);
      assert.ok(!error.message.includes('sk-test-secret-key-123456'), error.message);
      assert.equal(error.context.status, 500);
    });

    test('nothing listening fails at once, without retries', async () => {
      const port = await closedPort();
      const started = Date.now();
      const error = await stream({ baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 3 }).done.catch(
        (caught: unknown) => caught,
      );
      assert.ok(error instanceof LlmError, String(error));
      assert.match(error.message, /cannot connect \(ECONNREFUSED\)/);
      assert.ok(Date.now() - started < 2000);
    });

    test('a stream cut off after its first words is not sent again: those words were shown already', async () => {
      let attempts = 0;
      const cutting = createServer((_request, response) => {
        attempts += 1;
        response.writeHead(200, { 'content-type': 'text/event-stream' });
        response.write(
          `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: 'Four' } }] })}\n\n`,
        );
        setTimeout(() => response.socket?.destroy(), 20);
      });
      await new Promise<void>((ready) => cutting.listen(0, '127.0.0.1', ready));
      const { port } = cutting.address() as AddressInfo;
      try {
        const { deltas, done } = stream({ baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 2 });
        const error = await done.catch((caught: unknown) => caught);
        assert.ok(error instanceof LlmError, String(error));
        assert.deepEqual(deltas, ['Four']);
        assert.equal(attempts, 1);
      } finally {
        cutting.close();
      }
    });

    test('cancelling mid-stream cancels the call; a slow stream hits the timeout', async () => {
      server.enqueue({ content: 'one two three four five six seven', chunkDelayMs: 200 });
      const cancel = new AbortController();
      const cancelled = stream({}, cancel.signal);
      setTimeout(() => cancel.abort(), 300);
      assert.ok((await cancelled.done.catch((caught: unknown) => caught)) instanceof CancelledError);
      assert.ok(cancelled.deltas.length > 0, 'some words came before the cancel');

      server.enqueue({ content: 'one two three four five six seven', chunkDelayMs: 200 });
      const slow = stream({ timeoutMs: 300, maxRetries: 0 });
      assert.ok((await slow.done.catch((caught: unknown) => caught)) instanceof TimeoutError);
    });
  });

  test('asks for JSON schema output and keeps text that does not match the schema', async () => {
    server.enqueue('not json at all');
    const result = await createOpenAICompatibleController(settings()).chat({
      stage: 'plan',
      messages: user('plan'),
      jsonSchema: { name: 'plan', schema: { type: 'object', properties: { tasks: { type: 'array' } } } },
    });
    assert.equal(result.text, 'not json at all');
    assert.equal(server.requests.at(-1)?.response_format?.type, 'json_schema');
  });

  test('retries a 429 after the Retry-After delay, then succeeds', async () => {
    server.enqueue({ status: 429, headers: { 'retry-after': '1' } }, 'ok after retry');
    const before = server.requests.length;
    const started = Date.now();
    const result = await createOpenAICompatibleController(settings()).chat({
      stage: 'chat',
      messages: user('x'),
    });
    assert.equal(result.text, 'ok after retry');
    assert.equal(server.requests.length - before, 2);
    assert.ok(Date.now() - started >= 900, 'waited for Retry-After');
  });

  test('a persistent 500 becomes an LlmError naming the endpoint and status, key redacted', async () => {
    server.enqueue(
      {
        status: 500,
        body: '{"error":{"message":"boom sk-test-secret-key-123456"}}',
        headers: { 'retry-after': '0' },
      },
      { status: 500, body: '{"error":{"message":"boom"}}', headers: { 'retry-after': '0' } },
    );
    const error = await createOpenAICompatibleController(settings({ maxRetries: 1 }))
      .chat({ stage: 'chat', messages: user('x') })
      .then(
        () => assert.fail('should fail'),
        (caught: unknown) => caught,
      );
    assert.ok(error instanceof LlmError);
    assert.match(error.message, /HTTP 500/);
    assert.ok(error.message.includes(server.baseURL), error.message);
    assert.ok(!error.message.includes('sk-test-secret-key-123456'), error.message);
    assert.equal(error.context.status, 500);
  });

  test('an unreachable endpoint says it cannot connect and what to set', async () => {
    const error = await createOpenAICompatibleController(
      settings({ baseURL: 'http://127.0.0.1:9/v1', maxRetries: 0 }),
    )
      .chat({ stage: 'chat', messages: user('x') })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof LlmError);
    assert.match(error.message, /cannot connect/);
    assert.match(error.message, /JARVIS_LLM_BASE_URL/);
  });

  describe('a connection that cannot heal fails at once, without retries', () => {
    /** Fails the call with the default retries and returns the error and how long it took. */
    async function failFast(baseURL: string): Promise<{ error: unknown; elapsedMs: number }> {
      const started = Date.now();
      const error = await createOpenAICompatibleController(settings({ baseURL, maxRetries: 3 }))
        .chat({ stage: 'chat', messages: user('x') })
        .then(
          () => assert.fail('should fail'),
          (caught: unknown) => caught,
        );
      return { error, elapsedMs: Date.now() - started };
    }

    test('refused: nothing listens on the port', async () => {
      const port = await closedPort();
      const { error, elapsedMs } = await failFast(`http://127.0.0.1:${port}/v1`);
      assert.ok(error instanceof LlmError, String(error));
      assert.match(
        error.message,
        new RegExp(`127\\.0\\.0\\.1:${port}/v1 failed, cannot connect \\(ECONNREFUSED\\)`),
      );
      assert.doesNotMatch(error.message, /attempts/);
      assert.equal(error.retryable, false);
      assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
    });

    test('DNS: the host name does not resolve', async () => {
      const { error, elapsedMs } = await failFast('http://jarvis-nonexistent.invalid/v1');
      assert.ok(error instanceof LlmError, String(error));
      assert.match(
        error.message,
        /jarvis-nonexistent\.invalid\/v1 failed, cannot connect \((ENOTFOUND|EAI_AGAIN)\)/,
      );
      assert.match(error.message, /Check the host name in JARVIS_LLM_BASE_URL/);
      assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
    });

    test('TLS: https to a server that does not speak it', async () => {
      const { error, elapsedMs } = await failFast(server.baseURL.replace(/^http:/, 'https:'));
      assert.ok(error instanceof LlmError, String(error));
      assert.match(error.message, /cannot connect \((EPROTO|ERR_SSL_[A-Z_]+)\)/);
      assert.match(error.message, /TLS handshake failed/);
      assert.ok(elapsedMs < 2000, `took ${elapsedMs} ms`);
    });

    test('a dropped connection is still retried', async () => {
      let attempts = 0;
      const dropping = createServer((request) => {
        attempts += 1;
        request.socket.destroy();
      });
      await new Promise<void>((ready) => dropping.listen(0, '127.0.0.1', ready));
      const { port } = dropping.address() as AddressInfo;
      try {
        const error = await createOpenAICompatibleController(
          settings({ baseURL: `http://127.0.0.1:${port}/v1`, maxRetries: 1 }),
        )
          .chat({ stage: 'chat', messages: user('x') })
          .catch((caught: unknown) => caught);
        assert.ok(error instanceof LlmError, String(error));
        assert.equal(attempts, 2);
      } finally {
        dropping.close();
      }
    });
  });

  test('a slow server hits the timeout', async () => {
    server.enqueue({ content: 'late', delayMs: 3000 });
    const error = await createOpenAICompatibleController(settings({ timeoutMs: 300, maxRetries: 0 }))
      .chat({ stage: 'chat', messages: user('x') })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof TimeoutError, String(error));
  });

  test('cancelling the caller signal cancels the call', async () => {
    server.enqueue({ content: 'late', delayMs: 3000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await createOpenAICompatibleController(settings())
      .chat({ stage: 'chat', messages: user('x'), signal: controller.signal })
      .catch((caught: unknown) => caught);
    assert.ok(error instanceof CancelledError, String(error));
  });

  describe('a JSON reply larger than 512 KiB is refused, once, without being read whole', () => {
    const body = JSON.stringify({
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'stop',
          message: {
            role: 'assistant',
            content: JSON.stringify(
              Array.from({ length: 10_000 }, (_, i) => ({
                id: i,
                task: 'summarization',
                dep: [i - 1],
                args: {},
              })),
            ),
          },
        },
      ],
    });

    for (const [name, declared, expected] of [
      ['declared by its Content-Length', true, /reply is \d{3,} KiB; Jarvis reads at most 512 KiB/],
      ['sent in chunks with no length', false, /reply is over 512 KiB; Jarvis reads at most 512 KiB/],
    ] as const) {
      test(name, async () => {
        let requests = 0;
        const huge = createServer((_request, response) => {
          requests += 1;
          response.writeHead(200, {
            'content-type': 'application/json',
            ...(declared ? { 'content-length': Buffer.byteLength(body) } : {}),
          });
          for (let at = 0; at < body.length; at += 64 * 1024) response.write(body.slice(at, at + 64 * 1024));
          response.end();
        });
        await new Promise<void>((ready) => huge.listen(0, '127.0.0.1', ready));
        try {
          const { port } = huge.address() as AddressInfo;
          const error = await createOpenAICompatibleController(
            settings({ baseURL: `http://127.0.0.1:${port}/v1` }),
          )
            .chat({
              stage: 'plan',
              messages: user('plan'),
              jsonSchema: { name: 'plan', schema: { type: 'array' } },
            })
            .catch((caught: unknown) => caught);
          assert.ok(error instanceof LlmError, String(error));
          assert.match(error.message, expected);
          assert.equal(requests, 1, 'not retried');
        } finally {
          huge.closeAllConnections();
          await new Promise((closed) => huge.close(closed));
        }
      });
    }
  });
});
