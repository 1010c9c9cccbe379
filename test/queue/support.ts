// Shared setup for the queue tests: a real redis-server, `jarvis serve --queue` in this process (on a real
// socket: workers reach it over HTTP), and `jarvis worker`s as child processes that can be killed.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { configSchema, type JarvisConfig } from '../../src/config/schema.js';
import type { RunEvent } from '../../src/core/events.js';
import { createJarvis } from '../../src/run/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { type RedisTestServer, startRedis } from '../support/redis.js';
import { createTestBackend, type TestBackend, type TestBackendOptions } from '../support/test-backend.js';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export const VISION: Pick<TestBackendOptions, 'id' | 'tasks'> = {
  id: 'vision',
  tasks: ['object-detection', 'image-to-text', 'text-to-speech'],
};

export interface WorkerProcess {
  id: string;
  child: ChildProcess;
  /** Everything it logged so far. */
  log(): string;
  /** Resolves when a log line matches. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface SpawnWorkerOptions {
  url: string;
  serverUrl: string;
  id: string;
  latencyMs: number;
  stallIntervalMs?: number;
  heartbeatTtlMs?: number;
  concurrency?: number;
  backend?: Pick<TestBackendOptions, 'id' | 'tasks'>;
}

/** A `jarvis worker` child process with the test backend as its expert (test/queue/worker-process.ts). */
export async function spawnQueueWorker(options: SpawnWorkerOptions): Promise<WorkerProcess> {
  const { id } = options;
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      WORKER_SCRIPT,
      JSON.stringify({
        url: options.url,
        serverUrl: options.serverUrl,
        id,
        stallIntervalMs: options.stallIntervalMs ?? 1000,
        heartbeatTtlMs: options.heartbeatTtlMs ?? 1200,
        concurrency: options.concurrency ?? 1,
        backend: { ...(options.backend ?? VISION), latencyMs: options.latencyMs },
      }),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const waiters: Array<{ pattern: RegExp; resolve: (line: string) => void }> = [];
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    for (const waiter of [...waiters]) {
      const match = output.split('\n').find((line) => waiter.pattern.test(line));
      if (match !== undefined) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const worker: WorkerProcess = {
    id,
    child,
    log: () => output,
    waitFor(pattern, timeoutMs = 20_000) {
      const found = output.split('\n').find((line) => pattern.test(line));
      if (found !== undefined) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`worker ${id} never logged ${pattern}; it logged:\n${output}`)),
          timeoutMs,
        );
        waiters.push({
          pattern,
          resolve: (line) => {
            clearTimeout(timer);
            resolve(line);
          },
        });
      });
    },
    async kill(signal = 'SIGKILL') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill(signal);
      await exited;
    },
  };
  await worker.waitFor(/^ready /);
  return worker;
}

export interface QueueSetup {
  redis: RedisTestServer;
  server: RunningServer;
  /** The server's own copy of the backend: it runs a task only when no worker offers its model. */
  local: TestBackend;
  config: JarvisConfig;
  startWorker(options: { id: string; latencyMs: number; stallIntervalMs?: number }): Promise<WorkerProcess>;
  /** Starts a run of a given plan (no LLM involved) and returns its id. */
  startRun(plan: unknown[], files?: string[]): Promise<string>;
  /** Waits for the run to end and returns its events. */
  events(runId: string): Promise<RunEvent[]>;
  close(): Promise<void>;
}

export async function setupQueue(
  options: { taskTimeoutMs?: number; stallIntervalMs?: number } = {},
): Promise<QueueSetup> {
  const redis = await startRedis();
  const dataDir = mkdtempSync(join(tmpdir(), 'jarvis-queue-'));
  const config = configSchema.parse({
    dataDir,
    select: { strategy: 'top' },
    respond: { enabled: false },
    execute: { taskTimeoutMs: options.taskTimeoutMs ?? 30_000 },
    server: { port: 0 },
    queue: { url: redis.url, stallIntervalMs: options.stallIntervalMs ?? 1000 },
  });
  const local = createTestBackend({ ...VISION, latencyMs: 10 });
  const server = await startServer({
    config,
    createJarvis: (next, overrides) =>
      createJarvis(next, { ...overrides, controller: null, backends: [local], sources: [] }),
  });
  const workers: WorkerProcess[] = [];

  return {
    redis,
    server,
    local,
    config,
    async startWorker({ id, latencyMs, stallIntervalMs }) {
      const worker = await spawnQueueWorker({
        url: redis.url,
        serverUrl: server.url,
        id,
        latencyMs,
        stallIntervalMs: stallIntervalMs ?? options.stallIntervalMs ?? 1000,
      });
      workers.push(worker);
      return worker;
    },
    async startRun(plan, files) {
      const response = await fetch(`${server.url}/v1/runs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ request: 'queue test', plan, answer: false, ...(files ? { files } : {}) }),
      });
      const body = (await response.json()) as { id?: string };
      if (response.status !== 202 || !body.id) throw new Error(`run refused: ${JSON.stringify(body)}`);
      return body.id;
    },
    async events(runId) {
      const response = await fetch(`${server.url}/v1/runs/${runId}/events`);
      const text = await response.text();
      const events: RunEvent[] = [];
      for (const block of text.split(/\n\n/)) {
        const data = block
          .split('\n')
          .filter((line) => line.startsWith('data:'))
          .map((line) => line.slice(5).trim())
          .join('\n');
        const name = /^event: ?(.*)$/m.exec(block)?.[1];
        if (!data || name === 'end') continue;
        try {
          events.push(JSON.parse(data) as RunEvent);
        } catch {}
      }
      return events;
    },
    async close() {
      await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
      await server.close();
      await redis.stop();
    },
  };
}

/** Uploads a file to the server and returns its upload id. */
export async function upload(server: RunningServer, bytes: Uint8Array, name: string): Promise<string> {
  const form = new FormData();
  form.append('file', new Blob([bytes as Uint8Array<ArrayBuffer>]), name);
  const response = await fetch(`${server.url}/v1/uploads`, { method: 'POST', body: form });
  const body = (await response.json()) as { uploads?: { id: string }[] };
  const id = body.uploads?.[0]?.id;
  if (!id) throw new Error(`upload refused: ${JSON.stringify(body)}`);
  return id;
}
