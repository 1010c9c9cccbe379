/**
 * A `jarvis worker` in its own process, for the queue tests and the queue bench: the real worker loop
 * (src/queue/worker.ts) with the test backend as its expert, so that a test can give it a latency and
 * kill it with SIGKILL in the middle of a task. Options arrive as JSON in argv[2]; it prints "ready <id>"
 * once it listens, and every worker log line on stderr.
 */
import { startQueueWorker } from '../../src/queue/worker.js';
import { createTestBackend, type TestBackendOptions } from '../support/test-backend.js';

interface Options {
  url: string;
  serverUrl: string;
  id: string;
  concurrency?: number;
  stallIntervalMs?: number;
  heartbeatTtlMs?: number;
  prefix?: string;
  backend: Pick<TestBackendOptions, 'id' | 'latencyMs' | 'tasks' | 'models'>;
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
const backend = createTestBackend(options.backend);
const worker = await startQueueWorker({
  url: options.url,
  serverUrl: options.serverUrl,
  id: options.id,
  backends: [backend],
  concurrency: options.concurrency ?? 1,
  ...(options.stallIntervalMs ? { stallIntervalMs: options.stallIntervalMs } : {}),
  ...(options.heartbeatTtlMs ? { heartbeatTtlMs: options.heartbeatTtlMs } : {}),
  ...(options.prefix ? { prefix: options.prefix } : {}),
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`ready ${worker.id}\n`);
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
