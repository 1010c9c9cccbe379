/**
 * Scale-out over BullMQ: a real redis-server, the server's queue dispatcher in this process, and `jarvis worker`s
 * as separate processes whose expert only waits (a latency-only test expert: the figures are the queue's, not a
 * model's). Loopback only; bounded by --tasks and --repeat.
 *
 *   npm run bench:queue [-- --latency 1000 --tasks 40 --repeat 5 --stall 1000]
 *
 * It prints, each as the median of --repeat rounds with (min-max):
 * 1. throughput of --tasks independent tasks with 1, 2 and 4 worker processes, and the speed-up over 1 worker
 *    measured in the same round;
 * 2. queue overhead per task (enqueue at the server -> worker start -> result back at the server) for a
 *    0 ms expert, p50 and p99 over 200 tasks in a row;
 * 3. recovery after `kill -9` of a busy worker: from the kill to the task's result at the server, against the
 *    configured stall interval.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InferenceRequest } from '../src/core/backend.js';
import { createArtifactDirectory } from '../src/execute/artifacts.js';
import { createQueueDispatcher } from '../src/queue/dispatcher.js';
import { spawnQueueWorker, type WorkerProcess } from '../test/queue/support.js';
import { startRedis } from '../test/support/redis.js';
import { createTestBackend } from '../test/support/test-backend.js';
import { median, option, spread } from './stats.js';

const LATENCY_MS = Number(option('latency', '1000'));
const TASKS = Number(option('tasks', '40'));
const REPEAT = Number(option('repeat', '5'));
const STALL_MS = Number(option('stall', '1000'));
const BACKEND = { id: 'sleepy', tasks: ['summarization' as const] };

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;

async function main(): Promise<void> {
  const redis = await startRedis();
  const outputDir = mkdtempSync(join(tmpdir(), 'jarvis-queue-bench-'));
  const dispatcher = await createQueueDispatcher({
    url: redis.url,
    taskTimeoutMs: 10 * 60_000,
    maxUploadBytes: 1024 * 1024,
  });
  // The server's own copy never runs here: every task goes to a worker (it is wrapped only to be dispatched).
  const backend = dispatcher.wrap(createTestBackend({ ...BACKEND, latencyMs: 0 }));
  const directory = createArtifactDirectory(outputDir);
  const request = (index: number): InferenceRequest => ({
    task: 'summarization',
    modelId: 'sleepy-model',
    inputs: { text: `task ${index}` },
    artifacts: directory.sinkForTask(index, 'summarization'),
    signal: new AbortController().signal,
  });
  const workers: WorkerProcess[] = [];
  const startWorkers = async (count: number, latencyMs: number) => {
    const started = await Promise.all(
      Array.from({ length: count }, (_, index) =>
        spawnQueueWorker({
          url: redis.url,
          serverUrl: 'http://127.0.0.1:9',
          id: `bench-${latencyMs}-${workers.length + index}`,
          latencyMs,
          stallIntervalMs: STALL_MS,
          backend: BACKEND,
        }),
      ),
    );
    workers.push(...started);
    return started;
  };
  const stopAll = async () => {
    await Promise.all(workers.splice(0).map((worker) => worker.kill('SIGTERM')));
    // Let the stopped workers' announcements go before the next level counts them.
    await new Promise((resolve) => setTimeout(resolve, 1500));
  };

  try {
    console.log(
      `queue bench: ${TASKS} tasks of ${LATENCY_MS} ms, ${REPEAT} round(s), stall interval ${STALL_MS} ms, redis-server ${redis.url}`,
    );

    // 1. Throughput by number of worker processes.
    const levels = [1, 2, 4];
    const seconds = new Map<number, number[]>(levels.map((level) => [level, []]));
    for (const level of levels) {
      await startWorkers(level, LATENCY_MS);
      for (let round = 0; round < REPEAT; round++) {
        const started = performance.now();
        await Promise.all(Array.from({ length: TASKS }, (_, index) => backend.infer(request(index))));
        seconds.get(level)!.push((performance.now() - started) / 1000);
      }
      await stopAll();
    }
    const base = median(seconds.get(1)!);
    console.log('\n1. throughput (independent tasks, each worker runs one at a time)');
    console.log('workers  seconds median (min-max)  tasks/s  speed-up vs 1 worker');
    for (const level of levels) {
      const values = seconds.get(level)!;
      console.log(
        `${String(level).padStart(7)}  ${median(values).toFixed(2).padStart(14)} ${spread(values, 2).padStart(12)}  ${(TASKS / median(values)).toFixed(2).padStart(7)}  ${(base / median(values)).toFixed(2)}x`,
      );
    }

    // 2. Overhead per task with a 0 ms expert.
    await startWorkers(1, 0);
    const p50s: number[] = [];
    const p99s: number[] = [];
    for (let round = 0; round < REPEAT; round++) {
      const times: number[] = [];
      for (let index = 0; index < 200; index++) {
        const started = performance.now();
        await backend.infer(request(index));
        times.push(performance.now() - started);
      }
      times.sort((a, b) => a - b);
      p50s.push(percentile(times, 50));
      p99s.push(percentile(times, 99));
    }
    await stopAll();
    console.log(
      '\n2. queue overhead per task (enqueue -> worker -> result at the server, 0 ms expert, 200 in a row)',
    );
    console.log(
      `p50 ${median(p50s).toFixed(1)} ms ${spread(p50s, 1)}   p99 ${median(p99s).toFixed(1)} ms ${spread(p99s, 1)}`,
    );

    // 3. Recovery after kill -9 of a busy worker.
    const recoveries: number[] = [];
    for (let round = 0; round < Math.max(REPEAT, 5); round++) {
      const [doomed] = await startWorkers(1, 60_000);
      const result = backend.infer(request(round));
      await doomed!.waitFor(/started summarization/);
      await startWorkers(1, 0);
      const killedAt = performance.now();
      await doomed!.kill('SIGKILL');
      await result;
      recoveries.push(performance.now() - killedAt);
      await stopAll();
    }
    console.log('\n3. recovery after kill -9 of a busy worker (kill -> result at the server)');
    console.log(
      `${median(recoveries).toFixed(0)} ms ${spread(recoveries, 0)} = ${(median(recoveries) / STALL_MS).toFixed(2)} x the stall interval (${STALL_MS} ms)`,
    );
  } finally {
    await Promise.all(workers.map((worker) => worker.kill('SIGKILL')));
    await dispatcher.close();
    await redis.stop();
    rmSync(outputDir, { recursive: true, force: true });
  }
}

await main();
