// `jarvis serve --queue` and `jarvis worker` as a user runs them: the built binary, separate processes, a real
// redis-server, and a real local expert (compromise NER) running on the worker.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { cleanEnvironment, runJarvis, type StartedJarvis, startJarvis } from '../support/cli.js';
import { type RedisTestServer, startRedis } from '../support/redis.js';

async function waitForOutput(process: StartedJarvis, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(process.stdout);
    if (match) return match[1] ?? match[0];
    if (process.child.exitCode !== null) break;
    await sleep(50);
  }
  throw new Error(`never printed ${pattern}:\n${process.stdout}\n${process.stderr}`);
}

describe('jarvis serve --queue with a jarvis worker', () => {
  let redis: RedisTestServer;
  let server: StartedJarvis;
  let worker: StartedJarvis;
  let url: string;
  const home = mkdtempSync(join(tmpdir(), 'jarvis-queue-cli-'));
  const env = () =>
    cleanEnvironment(home, { JARVIS_QUEUE_URL: redis.url, JARVIS_DATA_DIR: join(home, 'data') });

  before(async () => {
    redis = await startRedis();
    server = startJarvis(['serve', '--port', '0'], { cwd: home, env: env() });
    url = await waitForOutput(server, /serving on (http:\/\/[\d.:]+)/);
    worker = startJarvis(
      ['worker', '--server', url, '--backends', 'local', '--models', 'compromise-ner,local:wink-sentiment'],
      { cwd: home, env: env() },
    );
    await waitForOutput(worker, /takes tasks for 2 model\(s\)/);
  });
  after(async () => {
    for (const child of [worker?.child, server?.child]) child?.kill('SIGINT');
    await Promise.all([worker?.done, server?.done]);
    await redis?.stop();
  });

  test('the server lists the worker and sends it the NER task; the entities come back', async () => {
    const workers = (await (await fetch(`${url}/v1/workers`)).json()) as {
      data: { models: { id: string }[] }[];
    };
    assert.deepEqual(workers.data[0]?.models.map((model) => model.id).sort(), [
      'compromise-ner',
      'wink-sentiment',
    ]);
    const started = await fetch(`${url}/v1/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        request: 'who is in this sentence?',
        plan: [
          {
            id: 0,
            task: 'token-classification',
            dep: [-1],
            args: { text: 'Ada Lovelace met Charles Babbage in London.' },
          },
        ],
        select: 'top',
        answer: false,
      }),
    });
    const { id } = (await started.json()) as { id: string };
    const events = await (await fetch(`${url}/v1/runs/${id}/events`)).text();
    assert.match(events, /started on worker/);
    const run = (await (await fetch(`${url}/v1/runs/${id}`)).json()) as {
      status: string;
      tasks: { status: string; output?: { text?: string } }[];
    };
    assert.equal(run.status, 'succeeded');
    assert.match(JSON.stringify(run.tasks), /Ada Lovelace/);
    assert.match(worker.stderr, /finished token-classification local:compromise-ner/);
  });

  test('jarvis doctor and jarvis models show the live worker and what it offers', async () => {
    const doctor = await runJarvis(['doctor', '--json'], { cwd: home, env: env() });
    const checks = (JSON.parse(doctor.stdout) as { checks: { name: string; ok: boolean; detail: string }[] })
      .checks;
    const queue = checks.find((check) => check.name === 'Queue');
    assert.ok(queue?.ok, JSON.stringify(queue));
    assert.match(queue.detail, /1 live worker\(s\): .* \(2 models, 0\/\d+ busy\)/);

    const models = await runJarvis(['models', '--task', 'token-classification', '--json'], {
      cwd: home,
      env: env(),
    });
    const rows = JSON.parse(models.stdout) as { id: string; available: boolean }[];
    assert.ok(rows.some((row) => row.id === 'compromise-ner' && row.available));
  });

  test('a worker without a reachable queue says so in one line and exits 1', async () => {
    const result = await runJarvis(['worker', '--server', url, '--queue', 'redis://127.0.0.1:9'], {
      cwd: home,
      env: env(),
    });
    assert.equal(result.code, 1);
    assert.match(result.stderr, /cannot reach Redis at redis:\/\/127\.0\.0\.1:9/);
  });
});
