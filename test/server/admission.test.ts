import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { answerWhen, isPlanning, lastMessage, planWhen, type Setup, setup } from './support.js';

// How `jarvis serve` admits runs: a bound on runs at once with a queue behind it, 429 only when the queue is
// full. Everything goes through real HTTP on loopback, with the loopback OpenAI server as the LLM.

let env: Setup;

before(async () => {
  env = await setup();
  planWhen(env.llm, 'Slow request', () => ({ content: '[]', delayMs: 8_000 }));
  // A chat turn: no tools; planning and the answer each take 40 ms, like a quick LLM.
  env.llm.rule((request) => {
    const text = lastMessage(request);
    const turn = /Chat turn (\d+-\d+)/.exec(text)?.[1];
    if (!turn) return undefined;
    return isPlanning(request)
      ? { content: '[]', delayMs: 40 }
      : { content: `Answer to ${turn}.`, delayMs: 40 };
  });
  answerWhen(env.llm, 'Slow request', 'Done slowly.');
});

after(() => env?.llm.close());

/** A server with a data folder of its own, so that each test sees only its own conversations. */
async function serve(server: Record<string, unknown> = {}): Promise<RunningServer> {
  const config = env.config({ server, dataDir: mkdtempSync(join(env.dataDir, 'admission-')) });
  return startServer({ config, jarvis: await env.jarvis(config) });
}

const startRun = (server: RunningServer, request: string) =>
  fetch(`${server.url}/v1/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request }),
  });

/** The assistant's text of a chat completion, streamed (SSE chunks) or not. */
async function replyText(response: Response): Promise<string> {
  const body = await response.text();
  if (!body.startsWith('data: ')) {
    return (JSON.parse(body) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
  }
  let text = '';
  for (const line of body.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    const chunk = JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] };
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return text;
}

describe('admission of runs', () => {
  test('a keyless server with default limits holds 100 conversations of 4 turns at once without a refusal', async () => {
    const server = await serve();
    let watch: NodeJS.Timeout | undefined;
    try {
      const statuses: number[] = [];
      let mostRunning = 0;
      watch = setInterval(async () => {
        try {
          const metrics = (await (await fetch(`${server.url}/v1/metrics`)).json()) as {
            runs: { running: number };
          };
          mostRunning = Math.max(mostRunning, metrics.runs.running);
        } catch {
          // The server is closing: the count so far is the answer.
        }
      }, 20);
      await Promise.all(
        Array.from({ length: 100 }, async (_, conversation) => {
          const messages: { role: string; content: string }[] = [];
          for (let round = 0; round < 4; round++) {
            messages.push({ role: 'user', content: `Chat turn ${conversation}-${round}` });
            const response = await fetch(`${server.url}/v1/chat/completions`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ model: 'jarvis', stream: round % 2 === 1, messages }),
            });
            statuses.push(response.status);
            assert.equal(await replyText(response), `Answer to ${conversation}-${round}.`);
            messages.push({ role: 'assistant', content: `Answer to ${conversation}-${round}.` });
          }
        }),
      );
      assert.equal(statuses.length, 400);
      assert.deepEqual(
        statuses.filter((status) => status !== 200),
        [],
        'every turn answered 200: no 429, no error',
      );
      assert.ok(mostRunning > 4, `more runs than the old per-key cap of 4 ran at once (${mostRunning})`);
      const conversations = (await (await fetch(`${server.url}/v1/conversations?limit=500`)).json()) as {
        conversations: unknown[];
      };
      assert.equal(conversations.conversations.length, 100, 'each client conversation is one stored one');
    } finally {
      clearInterval(watch);
      await server.close();
    }
  });

  test('runs over the bound wait and start as slots free up; a full queue gets 429 with Retry-After', async () => {
    const server = await serve({ maxRunningRuns: 1, maxQueuedRuns: 1 });
    try {
      const first = await startRun(server, 'Slow request one');
      assert.equal(first.status, 202);
      // The second waits for the slot: its answer comes only once the first has gone.
      let secondSettled = false;
      const second = startRun(server, 'Slow request two').then((response) => {
        secondSettled = true;
        return response;
      });
      // Waits until the second is queued (the metrics say so) before the third arrives.
      for (let tries = 0; tries < 100; tries++) {
        const metrics = (await (await fetch(`${server.url}/v1/metrics`)).json()) as {
          runs: { queued: number };
        };
        if (metrics.runs.queued === 1) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      const third = await startRun(server, 'Slow request three');
      assert.equal(third.status, 429);
      assert.match(third.headers.get('retry-after') ?? '', /^\d+$/);
      const body = (await third.json()) as { error: { message: string; code: string; type: string } };
      assert.equal(body.error.code, 'too-many-runs');
      assert.equal(body.error.type, 'rate_limit_error');
      assert.match(body.error.message, /at capacity: 1 run\(s\) in progress and 1 waiting/);
      // Planning alone (HuggingGPT's /tasks) calls the LLM too, and is admitted the same way.
      const tasks = await fetch(`${server.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Slow request four' }] }),
      });
      assert.equal(tasks.status, 429);
      assert.equal(secondSettled, false, 'the second run waits while the first holds the only slot');

      const { id } = (await first.json()) as { id: string };
      await fetch(`${server.url}/v1/runs/${id}/cancel`, { method: 'POST' });
      const started = await second;
      assert.equal(started.status, 202, 'the waiting run starts once the slot is free');
      const { id: secondId } = (await started.json()) as { id: string };
      await fetch(`${server.url}/v1/runs/${secondId}/cancel`, { method: 'POST' });
    } finally {
      await server.close();
    }
  });

  test('a client that hangs up while its run waits for a slot leaves the queue and nothing behind', async () => {
    const server = await serve({ maxRunningRuns: 1, maxQueuedRuns: 1 });
    try {
      const first = await startRun(server, 'Slow request one');
      assert.equal(first.status, 202);
      const hangUp = new AbortController();
      const waiting = fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'jarvis', messages: [{ role: 'user', content: 'Chat turn 1-0' }] }),
        signal: hangUp.signal,
      }).catch(() => undefined);
      const queued = async () =>
        ((await (await fetch(`${server.url}/v1/metrics`)).json()) as { runs: { queued: number } }).runs
          .queued;
      for (let tries = 0; tries < 100 && (await queued()) === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(await queued(), 1);
      hangUp.abort();
      await waiting;
      for (let tries = 0; tries < 100 && (await queued()) === 1; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(await queued(), 0, 'the abandoned request left the queue');
      const conversations = (await (await fetch(`${server.url}/v1/conversations`)).json()) as {
        conversations: { title: string }[];
      };
      assert.deepEqual(
        conversations.conversations.map((conversation) => conversation.title),
        ['Slow request one'],
        'the abandoned request stored nothing',
      );
      const { id } = (await first.json()) as { id: string };
      await fetch(`${server.url}/v1/runs/${id}/cancel`, { method: 'POST' });
    } finally {
      await server.close();
    }
  });

  test('GET /v1/metrics reports CPU, memory, event-loop delay and the run limits', async () => {
    const server = await serve({ maxRunningRuns: 3, maxQueuedRuns: 7 });
    try {
      const metrics = (await (await fetch(`${server.url}/v1/metrics`)).json()) as {
        cpuMs: { user: number; system: number };
        memory: { rssBytes: number; peakRssBytes: number };
        eventLoopDelayMs: { p99: number };
        runs: { running: number; queued: number; maxRunning: number; maxQueued: number };
      };
      assert.ok(metrics.cpuMs.user > 0);
      assert.ok(metrics.memory.peakRssBytes >= metrics.memory.rssBytes);
      assert.equal(typeof metrics.eventLoopDelayMs.p99, 'number');
      assert.deepEqual(metrics.runs, {
        running: 0,
        queued: 0,
        maxRunning: 3,
        maxQueued: 7,
        admitted: 0,
        refused: 0,
      });
      const reset = await fetch(`${server.url}/v1/metrics/reset`, { method: 'POST' });
      assert.equal(reset.status, 200);
    } finally {
      await server.close();
    }
  });
});
