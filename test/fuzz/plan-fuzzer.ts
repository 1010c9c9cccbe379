/**
 * The plan-reading fuzzer: runs cases (seed, 0..count-1) in worker threads, each under a deadline, and
 * counts what went wrong. A worker past its deadline, or one that dies (out of memory), is terminated and
 * replaced, and the case is reported, never waited for.
 */
import { Worker } from 'node:worker_threads';
import type { CaseReport, CaseRequest } from './plan-worker.js';

export interface FuzzOptions {
  seed: number;
  count: number;
  /** Worker threads running cases side by side. */
  workers?: number;
  /** A case still running after this long is a hang. */
  deadlineMs?: number;
  /** A case that took longer than this is slow. */
  slowMs?: number;
  /** Stop starting cases after this long; the summary says how many ran. */
  timeBudgetMs?: number;
  /** Only these case indices (to replay a failure). */
  only?: number[];
  /** Heap of each worker, so an allocation bomb ends the worker, not the fuzzer. */
  workerHeapMb?: number;
}

export interface FuzzFailure {
  index: number;
  family: string;
  what: string;
}

export interface FuzzSummary {
  seed: number;
  cases: number;
  accepted: number;
  rejected: number;
  /** Exceptions that escaped the reading path, workers that died, and hangs. */
  uncaught: FuzzFailure[];
  hangs: FuzzFailure[];
  /** Cases over `slowMs` on every try (the first and SLOW_RETRIES more), with their fastest time. */
  slow: { index: number; family: string; ms: number }[];
  /** Cases over `slowMs` the first time they ran. */
  slowOnFirstTry: number;
  slowest: { index: number; family: string; ms: number } | undefined;
  invalidAccepted: FuzzFailure[];
  byFamily: Record<string, number>;
  elapsedMs: number;
  stoppedEarly: boolean;
}

/** Times a slow case is run again before it counts as slow. */
const SLOW_RETRIES = 2;

const WORKER_URL = new URL('./plan-worker-entry.mjs', import.meta.url);

export async function runFuzz(options: FuzzOptions): Promise<FuzzSummary> {
  const deadlineMs = options.deadlineMs ?? 5_000;
  const slowMs = options.slowMs ?? 100;
  const indices = options.only ?? Array.from({ length: options.count }, (_, index) => index);
  const started = Date.now();
  const summary: FuzzSummary = {
    seed: options.seed,
    cases: 0,
    accepted: 0,
    rejected: 0,
    uncaught: [],
    hangs: [],
    slow: [],
    slowOnFirstTry: 0,
    slowest: undefined,
    invalidAccepted: [],
    byFamily: {},
    elapsedMs: 0,
    stoppedEarly: false,
  };
  let next = 0;
  const takeIndex = (): number | undefined => {
    if (options.timeBudgetMs !== undefined && Date.now() - started > options.timeBudgetMs) {
      summary.stoppedEarly = next < indices.length;
      return undefined;
    }
    return next < indices.length ? indices[next++] : undefined;
  };

  const record = (report: CaseReport): void => {
    summary.cases++;
    summary.byFamily[report.family] = (summary.byFamily[report.family] ?? 0) + 1;
    if (report.outcome === 'accepted') summary.accepted++;
    if (report.outcome === 'rejected') summary.rejected++;
    if (report.outcome === 'exception') {
      summary.uncaught.push({ index: report.index, family: report.family, what: report.error ?? '' });
    }
    if (report.violations.length > 0) {
      summary.invalidAccepted.push({
        index: report.index,
        family: report.family,
        what: report.violations.slice(0, 3).join('; '),
      });
    }
    if (report.ms > slowMs) summary.slow.push({ index: report.index, family: report.family, ms: report.ms });
    if (!summary.slowest || report.ms > summary.slowest.ms) {
      summary.slowest = { index: report.index, family: report.family, ms: report.ms };
    }
  };

  /** One lane: a worker running cases one after another, replaced when it hangs or dies. */
  const lane = async (): Promise<void> => {
    let worker: Worker | undefined;
    for (let index = takeIndex(); index !== undefined; index = takeIndex()) {
      worker ??= await startWorker(options.workerHeapMb ?? 512);
      let outcome = await runOn(worker, { seed: options.seed, index }, deadlineMs);
      // On a shared machine a case can be slow because the CPU was elsewhere (another process, a GC): a
      // slow case is timed again, and it counts as slow only if it is slow every time.
      for (
        let retry = 0;
        retry < SLOW_RETRIES && outcome.kind === 'report' && outcome.report.ms > slowMs;
        retry++
      ) {
        if (retry === 0) summary.slowOnFirstTry++;
        const again = await runOn(worker, { seed: options.seed, index }, deadlineMs);
        if (again.kind !== 'report') outcome = again;
        else outcome.report.ms = Math.min(outcome.report.ms, again.report.ms);
      }
      if (outcome.kind === 'report') {
        record(outcome.report);
        continue;
      }
      // The worker hung or died: its state is unknown, so the next case gets a fresh one.
      await worker.terminate();
      worker = undefined;
      const family = outcome.family;
      summary.cases++;
      summary.byFamily[family] = (summary.byFamily[family] ?? 0) + 1;
      if (outcome.kind === 'hang') {
        summary.hangs.push({ index, family, what: `still running after ${deadlineMs} ms` });
        summary.slow.push({ index, family, ms: deadlineMs });
        summary.slowest = { index, family, ms: Math.max(deadlineMs, summary.slowest?.ms ?? 0) };
      } else summary.uncaught.push({ index, family, what: `worker died: ${outcome.error}` });
    }
    await worker?.terminate();
  };
  await Promise.all(Array.from({ length: Math.max(1, options.workers ?? 2) }, lane));
  summary.elapsedMs = Date.now() - started;
  summary.slow.sort((a, b) => b.ms - a.ms);
  return summary;
}

function startWorker(heapMb: number): Promise<Worker> {
  const worker = new Worker(WORKER_URL, { resourceLimits: { maxOldGenerationSizeMb: heapMb } });
  return new Promise((resolve, reject) => {
    const onMessage = (message: unknown) => {
      if (message !== 'ready') return;
      worker.off('error', reject);
      worker.off('message', onMessage);
      resolve(worker);
    };
    worker.on('message', onMessage);
    worker.once('error', reject);
  });
}

type LaneOutcome =
  | { kind: 'report'; report: CaseReport }
  | { kind: 'hang'; family: string }
  | { kind: 'died'; family: string; error: string };

async function runOn(worker: Worker, request: CaseRequest, deadlineMs: number): Promise<LaneOutcome> {
  // The family of a case that never reports is looked up here, from the same generator.
  const familyOf = async () =>
    (await import('./plan-cases.js')).generateCase(request.seed, request.index).family;
  const outcome = await new Promise<LaneOutcome | { kind: 'hang' } | { kind: 'died'; error: string }>(
    (resolve) => {
      const timer = setTimeout(() => finish({ kind: 'hang' }), deadlineMs);
      const onMessage = (report: CaseReport) => finish({ kind: 'report', report });
      const onError = (error: Error) =>
        finish({ kind: 'died', error: `${error.name}: ${error.message}`.slice(0, 200) });
      const onExit = (code: number) => finish({ kind: 'died', error: `exit ${code}` });
      function finish(result: LaneOutcome | { kind: 'hang' } | { kind: 'died'; error: string }) {
        clearTimeout(timer);
        worker.off('message', onMessage);
        worker.off('error', onError);
        worker.off('exit', onExit);
        resolve(result);
      }
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      worker.postMessage(request);
    },
  );
  if (outcome.kind === 'report') return outcome;
  const family = await familyOf().catch(() => 'unknown');
  return outcome.kind === 'hang' ? { kind: 'hang', family } : { kind: 'died', family, error: outcome.error };
}

/** The figures, one per line, for people and CI logs. */
export function formatSummary(summary: FuzzSummary): string {
  const lines = [
    `seed ${summary.seed}: ${summary.cases} cases in ${(summary.elapsedMs / 1000).toFixed(1)} s${summary.stoppedEarly ? ' (stopped at the time budget)' : ''}`,
    `  accepted ${summary.accepted}, rejected ${summary.rejected}`,
    `  uncaught exceptions: ${summary.uncaught.length}`,
    `  hangs (past the deadline): ${summary.hangs.length}`,
    `  cases over 100 ms: ${summary.slow.length} (on all ${SLOW_RETRIES + 1} tries; ${summary.slowOnFirstTry} on the first)${summary.slowest ? `; slowest ${summary.slowest.ms.toFixed(1)} ms (#${summary.slowest.index}, ${summary.slowest.family})` : ''}`,
    `  invalid plans accepted: ${summary.invalidAccepted.length}`,
  ];
  const show = (title: string, failures: FuzzFailure[]) => {
    if (failures.length === 0) return;
    lines.push(`${title}:`);
    for (const failure of failures.slice(0, 10))
      lines.push(`  #${failure.index} (${failure.family}): ${failure.what}`);
    if (failures.length > 10) lines.push(`  ... and ${failures.length - 10} more`);
  };
  show('uncaught', summary.uncaught);
  show('hangs', summary.hangs);
  show('invalid plans accepted', summary.invalidAccepted);
  if (summary.slow.length > 0) {
    lines.push('slowest cases:');
    for (const slow of summary.slow.slice(0, 10))
      lines.push(`  #${slow.index} (${slow.family}): ${slow.ms.toFixed(1)} ms`);
  }
  lines.push(
    `families: ${Object.entries(summary.byFamily)
      .map(([family, count]) => `${family} ${count}`)
      .join(', ')}`,
  );
  return lines.join('\n');
}
