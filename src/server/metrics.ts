import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Hono } from 'hono';
import { procCpuMs } from '../core/processes.js';
import type { AdmissionStats } from './admission.js';
import type { AppEnv } from './app.js';

/**
 * What the server process costs and how well it keeps up, for load tests and monitoring: `GET /v1/metrics`.
 * The event-loop delay (perf_hooks' histogram) and the peak resident memory are measured over a window that
 * `POST /v1/metrics/reset` starts anew; CPU time is cumulative since the process started (take differences).
 */

/** CPU ms of the thread that runs the event loop (on Linux, the thread whose id is the process id), or null. */
function eventLoopThreadCpuMs(): number | null {
  try {
    return procCpuMs(`/proc/self/task/${process.pid}/stat`);
  } catch {
    return null;
  }
}

const ms = (nanoseconds: number) => Math.round(nanoseconds / 1e4) / 100;

/** How often perf_hooks' event-loop timer fires (ms). */
const LOOP_RESOLUTION_MS = 10;

/**
 * The event-loop delay a value of `monitorEventLoopDelay`'s histogram stands for, in ms. The histogram records
 * the time between two firings of its `resolution` ms timer, so an idle loop reads about `resolution` and a
 * 30 ms block reads 40 (measured on Node 20); the delay is what exceeds the interval, as Elastic's APM agent
 * and OpenTelemetry's runtime instrumentation read it too.
 */
export function loopDelayMs(histogramNanoseconds: number, resolutionMs: number): number {
  return Math.max(0, histogramNanoseconds / 1e6 - resolutionMs);
}

export interface ServerMetrics {
  snapshot(runs: AdmissionStats): Record<string, unknown>;
  /** Starts a new window for the event-loop delay and the peak memory. */
  reset(): void;
  close(): void;
}

export function createServerMetrics(): ServerMetrics {
  const loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  const delay = (nanoseconds: number) => ms(loopDelayMs(nanoseconds, LOOP_RESOLUTION_MS) * 1e6);
  loop.enable();
  let windowStart = performance.now();
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 250);
  sampler.unref();
  return {
    snapshot(runs) {
      const rss = process.memoryUsage.rss();
      peakRss = Math.max(peakRss, rss);
      const cpu = process.cpuUsage();
      return {
        uptimeSeconds: Math.round(process.uptime()),
        windowSeconds: Math.round(performance.now() - windowStart) / 1000,
        cpuMs: {
          user: Math.round(cpu.user / 1000),
          system: Math.round(cpu.system / 1000),
          eventLoopThread: eventLoopThreadCpuMs(),
        },
        memory: { rssBytes: rss, peakRssBytes: peakRss, heapUsedBytes: process.memoryUsage().heapUsed },
        eventLoopDelayMs: {
          p50: delay(loop.percentile(50)),
          p99: delay(loop.percentile(99)),
          max: delay(loop.max),
          mean: delay(loop.mean),
        },
        runs,
      };
    },
    reset() {
      loop.reset();
      windowStart = performance.now();
      peakRss = process.memoryUsage.rss();
    },
    close() {
      loop.disable();
      clearInterval(sampler);
    },
  };
}

export function registerMetricsRoutes(
  app: Hono<AppEnv>,
  metrics: ServerMetrics,
  runs: () => AdmissionStats,
): void {
  app.get('/v1/metrics', (c) => c.json(metrics.snapshot(runs())));
  app.post('/v1/metrics/reset', (c) => {
    const before = metrics.snapshot(runs());
    metrics.reset();
    return c.json(before);
  });
}
