import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { streamText } from 'ai';
import { ConfigError } from '../../src/core/errors.js';
import { KEEP_ALIVE_MS, type RunningServer, startServer } from '../../src/server/index.js';
import {
  answerWhen,
  fixture,
  NER_SENTENCE,
  planWhen,
  readEventStream,
  type Setup,
  scriptFindPeople,
  setup,
  UPLOAD_PATH,
} from './support.js';

let env: Setup;
const API_KEY = 'jarvis-test-key-0123456789';

before(async () => {
  env = await setup();
  scriptFindPeople(env.llm, 5);
  planWhen(env.llm, 'Describe the photo', (request) => [
    {
      id: 0,
      task: 'object-detection',
      dep: [-1],
      args: { image: UPLOAD_PATH.exec(request)?.[0] ?? 'x.png' },
    },
  ]);
  answerWhen(env.llm, 'Describe the photo', 'One zebra.');
  planWhen(env.llm, 'Slow request', () => ({ content: '[]', delayMs: 8_000 }));
});

after(() => env?.llm.close());

async function serve(layer: Parameters<Setup['config']>[0] = {}, host?: string): Promise<RunningServer> {
  const config = env.config(layer);
  return startServer({ config, jarvis: await env.jarvis(config), ...(host ? { host } : {}) });
}

describe('over a real socket', () => {
  test('an OpenAI client streams the answer from /v1/chat/completions', async () => {
    const server = await serve();
    try {
      const provider = createOpenAICompatible({
        name: 'jarvis',
        baseURL: `${server.url}/v1`,
        apiKey: 'unused',
      });
      const result = streamText({
        model: provider('jarvis'),
        messages: [{ role: 'user', content: `Find the people: ${NER_SENTENCE}` }],
      });
      const pieces: string[] = [];
      for await (const piece of result.textStream) pieces.push(piece);
      assert.ok(pieces.length > 1, 'the answer arrives in several pieces');
      assert.equal(pieces.join(''), 'The people are Ada Lovelace and Charles Babbage.');
    } finally {
      await server.close();
    }
  });

  test('the last chunk of a streamed completion carries the run id and the task results', async () => {
    const server = await serve();
    try {
      const response = await fetch(`${server.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          model: 'jarvis',
          stream: true,
          stream_options: { include_usage: true },
          messages: [{ role: 'user', content: `Find the people: ${NER_SENTENCE}` }],
        }),
      });
      assert.equal(response.headers.get('content-type'), 'text/event-stream');
      const runId = response.headers.get('x-jarvis-run-id');
      const events = await readEventStream(response);
      assert.equal(events.at(-1)?.data, '[DONE]');
      const chunks = events.slice(0, -1).map((event) => JSON.parse(event.data) as Record<string, unknown>);
      const final = chunks.find(
        (chunk) => (chunk.choices as { finish_reason: string | null }[])[0]?.finish_reason === 'stop',
      ) as { jarvis: { run_id: string; tasks: { status: string }[] } };
      assert.equal(final.jarvis.run_id, runId);
      assert.equal(final.jarvis.tasks[0]?.status, 'succeeded');
      const usage = chunks.at(-1) as { usage?: { total_tokens: number } };
      assert.ok((usage.usage?.total_tokens ?? 0) > 0);
    } finally {
      await server.close();
    }
  });

  test('conversations, runs and artifacts survive a restart of the server', async () => {
    const dataDir = `${env.dataDir}/restart`;
    let first = await serve({ dataDir });
    const form = new FormData();
    form.append('file', new Blob([readFileSync(fixture('images', 'b.jpg'))]), 'zebra.jpg');
    const { uploads } = (await (
      await fetch(`${first.url}/v1/uploads`, { method: 'POST', body: form })
    ).json()) as {
      uploads: { id: string }[];
    };
    const started = (await (
      await fetch(`${first.url}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: 'Describe the photo', files: [uploads[0]!.id] }),
      })
    ).json()) as { id: string; conversationId: string };
    await readEventStream(await fetch(`${first.url}/v1/runs/${started.id}/events`));
    await first.close();

    first = await serve({ dataDir });
    try {
      const { conversations } = (await (await fetch(`${first.url}/v1/conversations`)).json()) as {
        conversations: { id: string; title: string }[];
      };
      assert.deepEqual(
        conversations.map((conversation) => conversation.id),
        [started.conversationId],
      );
      const stored = (await (
        await fetch(`${first.url}/v1/conversations/${started.conversationId}`)
      ).json()) as {
        messages: { role: string; content: string; files: { url: string }[] }[];
        runs: { status: string; tasks: { result: { output: { artifacts: { url: string }[] } } }[] }[];
      };
      assert.deepEqual(
        stored.messages.map((message) => [message.role, message.content]),
        [
          ['user', 'Describe the photo'],
          ['assistant', 'One zebra.'],
        ],
      );
      assert.equal(stored.runs[0]?.status, 'succeeded');
      const artifactUrl = stored.runs[0]!.tasks[0]!.result.output.artifacts[0]!.url;
      const artifact = await fetch(`${first.url}${artifactUrl}`);
      assert.equal(artifact.status, 200);
      assert.equal(artifact.headers.get('content-type'), 'image/png');
      const uploaded = await fetch(`${first.url}${stored.messages[0]!.files[0]!.url}`);
      assert.equal(uploaded.headers.get('content-type'), 'image/jpeg');
      // The events of a finished run are replayed from the database.
      const replay = await readEventStream(await fetch(`${first.url}/v1/runs/${started.id}/events`));
      assert.ok(replay.some((event) => event.event === 'task-end'));
      assert.equal(replay.at(-1)?.event, 'end');
    } finally {
      await first.close();
    }
  });

  test('a run still going when the server stops is reported as interrupted after the restart', async () => {
    const dataDir = `${env.dataDir}/interrupted`;
    let server = await serve({ dataDir });
    const started = (await (
      await fetch(`${server.url}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: 'Slow request' }),
      })
    ).json()) as { id: string };
    await server.close();
    server = await serve({ dataDir });
    try {
      const run = (await (await fetch(`${server.url}/v1/runs/${started.id}`)).json()) as { status: string };
      // Closing cancels and saves running runs; a crash would leave them "running", which a start marks.
      assert.match(run.status, /^(cancelled|interrupted)$/);
    } finally {
      await server.close();
    }
  });

  test('request bodies are limited and checked as they arrive, whether they declare their length or come in chunks', async () => {
    const server = await serve();
    /** POSTs `body` to `path`, as one piece with its length or in chunks of 64 KiB with none. */
    const post = async (path: string, body: string, chunked: boolean) => {
      const bytes = Buffer.from(body);
      const response = await fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ...(chunked
          ? {
              body: new ReadableStream({
                start(controller) {
                  for (let at = 0; at < bytes.length; at += 64 * 1024) {
                    controller.enqueue(bytes.subarray(at, at + 64 * 1024));
                  }
                  controller.close();
                },
              }),
              duplex: 'half',
            }
          : { body: bytes }),
      } as RequestInit);
      const answer = (await response.json()) as { error?: { code: string }; title?: string };
      return { status: response.status, code: answer.error?.code, title: answer.title };
    };
    try {
      for (const chunked of [false, true]) {
        const how = chunked ? 'chunked' : 'with its length';
        assert.deepEqual(
          await post('/v1/conversations', JSON.stringify({ title: `Zebras ${how}` }), chunked),
          { status: 201, code: undefined, title: `Zebras ${how}` },
          how,
        );
        const tooLarge = await post('/v1/runs', JSON.stringify({ request: 'x'.repeat(1_100_000) }), chunked);
        assert.deepEqual([tooLarge.status, tooLarge.code], [413, 'body_too_large'], how);
        const deep = await post('/v1/runs', `{"request":"x","plan":${'['.repeat(200_000)}`, chunked);
        assert.deepEqual([deep.status, deep.code], [400, 'json_too_complex'], how);
        const broken = await post('/v1/chat/completions', '{"messages": [', chunked);
        assert.deepEqual([broken.status, broken.code], [400, 'invalid_json'], how);
      }
    } finally {
      await server.close();
    }
  });
});

describe('safety', () => {
  test('an idle keep-alive connection is still open after 6 s (Node would have closed it at 5 s)', async () => {
    const server = await serve();
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const get = () =>
      new Promise<{ reused: boolean; keepAlive: string }>((resolve, reject) => {
        const sent = request(`${server.url}/v1/models`, { agent }, (response) => {
          response.resume();
          response.on('end', () =>
            resolve({ reused: sent.reusedSocket, keepAlive: String(response.headers['keep-alive']) }),
          );
        });
        sent.on('error', reject);
        sent.end();
      });
    try {
      const first = await get();
      assert.equal(first.keepAlive, `timeout=${KEEP_ALIVE_MS / 1000}`);
      await new Promise((resolve) => setTimeout(resolve, 6_000));
      const second = await get();
      assert.equal(second.reused, true, 'the second request went over the same connection');
    } finally {
      agent.destroy();
      await server.close();
    }
  });

  test('listening beyond loopback without an API key is refused', async () => {
    await assert.rejects(serve({}, '0.0.0.0'), (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /API key/);
      return true;
    });
  });

  test('with an API key, requests need it; signed file links work without it', async () => {
    const server = await serve({ server: { apiKey: API_KEY } }, '0.0.0.0');
    try {
      const url = server.url.replace('0.0.0.0', '127.0.0.1');
      const health = await fetch(`${url}/v1/health`);
      assert.equal(health.status, 200);
      const refused = await fetch(`${url}/v1/conversations`);
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('www-authenticate'), 'Bearer');
      assert.equal(((await refused.json()) as { error: { code: string } }).error.code, 'invalid_api_key');
      const wrong = await fetch(`${url}/v1/conversations`, { headers: { authorization: 'Bearer nope' } });
      assert.equal(wrong.status, 401);
      const auth = { authorization: `Bearer ${API_KEY}` };
      assert.equal((await fetch(`${url}/v1/conversations`, { headers: auth })).status, 200);

      const form = new FormData();
      form.append('file', new Blob([readFileSync(fixture('images', 'b.jpg'))]), 'zebra.jpg');
      const uploaded = (await (
        await fetch(`${url}/v1/uploads`, { method: 'POST', body: form, headers: auth })
      ).json()) as { uploads: { url: string }[] };
      const signed = uploaded.uploads[0]!.url;
      assert.match(signed, /\?sig=/);
      assert.equal((await fetch(`${url}${signed}`)).status, 200);
      // A tampered signature: change its first character (to one it is not, so the test cannot pass by luck).
      const tampered = signed.replace(
        /sig=(.)/,
        (_match, first: string) => `sig=${first === 'x' ? 'y' : 'x'}`,
      );
      assert.equal((await fetch(`${url}${tampered}`)).status, 401);
      assert.equal((await fetch(`${url}${signed.replace(/\?sig=.*/, '')}`)).status, 401);
    } finally {
      await server.close();
    }
  });

  test('a server at capacity (every slot taken, no room to wait) answers 429 that says why', async () => {
    const server = await serve({ server: { maxRunningRuns: 1, maxQueuedRuns: 0 } });
    try {
      const start = () =>
        fetch(`${server.url}/v1/runs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ request: 'Slow request' }),
        });
      const first = await start();
      assert.equal(first.status, 202);
      const second = await start();
      assert.equal(second.status, 429);
      assert.ok(second.headers.get('retry-after'));
      const body = (await second.json()) as { error: { message: string; code: string; type: string } };
      assert.equal(body.error.code, 'too-many-runs');
      assert.equal(body.error.type, 'rate_limit_error');
      assert.match(body.error.message, /at capacity: 1 run\(s\) in progress and 0 waiting/);
      // Planning alone (HuggingGPT's /tasks) calls the LLM too, and counts against the same bound.
      const tasks = await fetch(`${server.url}/tasks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ messages: [{ role: 'user', content: 'Slow request' }] }),
      });
      assert.equal(tasks.status, 429);
      const { id } = (await first.json()) as { id: string };
      await fetch(`${server.url}/v1/runs/${id}/cancel`, { method: 'POST' });
      assert.equal((await start()).status, 202, 'the slot is free again after cancelling');
    } finally {
      await server.close();
    }
  });

  test('CORS answers configured origins only; other sites cannot drive the API', async () => {
    const server = await serve({ server: { corsOrigins: ['https://chat.example.org'] } });
    try {
      const allowed = await fetch(`${server.url}/v1/conversations`, {
        headers: { origin: 'https://chat.example.org' },
      });
      assert.equal(allowed.status, 200);
      assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://chat.example.org');
      const preflight = await fetch(`${server.url}/v1/runs`, {
        method: 'OPTIONS',
        headers: {
          origin: 'https://chat.example.org',
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type,authorization',
        },
      });
      assert.equal(preflight.status, 204);
      assert.match(preflight.headers.get('access-control-allow-headers') ?? '', /authorization/);
      const other = await fetch(`${server.url}/v1/runs`, {
        method: 'POST',
        headers: { origin: 'https://evil.example.com', 'content-type': 'application/json' },
        body: JSON.stringify({ request: 'Slow request' }),
      });
      assert.equal(other.status, 403);
      assert.equal(other.headers.get('access-control-allow-origin'), null);
    } finally {
      await server.close();
    }
  });

  test('a page reached through DNS rebinding is refused on a keyless loopback server', async () => {
    const server = await serve();
    try {
      const { request } = await import('node:http');
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(
          `${server.url}/v1/conversations`,
          { headers: { host: 'attacker.example:7860' } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 403);
    } finally {
      await server.close();
    }
  });
});

describe('startup failures are one line that says what to do', () => {
  const oneLine = (pattern: RegExp) => (error: unknown) => {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    assert.match(error.message, pattern);
    assert.doesNotMatch(error.message, /\n/);
    return true;
  };

  test('a port already in use names the port and --port', async () => {
    const first = await serve();
    try {
      const port = Number(new URL(first.url).port);
      await assert.rejects(
        serve({ dataDir: join(env.dataDir, 'second'), server: { port } }),
        oneLine(
          new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is in use: stop the other server or pass --port`),
        ),
      );
    } finally {
      await first.close();
    }
  });

  test('an address this machine does not have names the host and --host', async () => {
    await assert.rejects(
      serve({ dataDir: join(env.dataDir, 'elsewhere'), server: { apiKey: API_KEY } }, '192.0.2.1'),
      oneLine(/192\.0\.2\.1 is not an address of this machine.*--host/),
    );
  });

  test('a data folder that is a file says so and how to move it', async () => {
    const file = join(env.dataDir, 'not-a-folder');
    writeFileSync(file, 'x');
    await assert.rejects(serve({ dataDir: file }), oneLine(/a file is in the way.*JARVIS_DATA_DIR/));
  });
});
