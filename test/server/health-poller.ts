// A client that asks `GET /v1/health` every ~20 ms and keeps the longest wait. It runs in a worker thread:
// the test's own thread builds and sends the attacks, and any pause there must not count as the server's.
import { Worker } from 'node:worker_threads';

export interface HealthWaits {
  /** The longest a health check waited, in ms; one still unanswered at the end counts up to that moment. */
  worstMs: number;
  /** Health checks answered. */
  count: number;
  /** Checks that got no 200 (refused, reset, or an error status). */
  failures: number;
}

const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let stopped = false, worst = 0, count = 0, failures = 0, pendingSince;
parentPort.on('message', () => {
  stopped = true;
  const pending = pendingSince === undefined ? 0 : performance.now() - pendingSince;
  parentPort.postMessage({ worstMs: Math.max(worst, pending), count, failures });
});
(async () => {
  while (!stopped) {
    const start = performance.now();
    pendingSince = start;
    try {
      const response = await fetch(workerData.url, { signal: AbortSignal.timeout(120000) });
      await response.arrayBuffer();
      if (response.status !== 200) failures += 1;
    } catch {
      failures += 1;
    }
    pendingSince = undefined;
    const took = performance.now() - start;
    if (!stopped) {
      worst = Math.max(worst, took);
      count += 1;
    }
    if (took < 20) await new Promise((resolve) => setTimeout(resolve, 20 - took));
  }
})();
`;

export interface HealthPoller {
  /** Stops polling and says how long checks waited. */
  stop(): Promise<HealthWaits>;
}

export async function pollHealth(serverUrl: string): Promise<HealthPoller> {
  const worker = new Worker(POLLER, { eval: true, workerData: { url: `${serverUrl}/v1/health` } });
  await new Promise<void>((resolve, reject) => {
    worker.once('online', () => resolve());
    worker.once('error', reject);
  });
  return {
    async stop() {
      const waits = new Promise<HealthWaits>((resolve) => worker.once('message', resolve));
      worker.postMessage('stop');
      const result = await waits;
      await worker.terminate();
      return result;
    },
  };
}
