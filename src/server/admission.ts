import { availableParallelism } from 'node:os';
import { CancelledError, JarvisError } from '../core/errors.js';

/**
 * Admission of runs: limits that protect the machine, not ones that cap a user. At most `maxRunning` runs
 * execute at once (sized to the machine); more wait in a bounded first-in-first-out queue and start as slots
 * free up; only a request that finds the queue full is refused (429 with Retry-After). Waiting requests of
 * different API keys are served in turn (round robin between keys), so a key with many runs queued cannot keep
 * another key waiting behind all of them; an optional per-key bound keeps one key from holding every slot.
 */

/** The server is at capacity: every slot is taken and the queue behind them is full. */
export class TooManyRunsError extends JarvisError {
  constructor(running: number, queued: number, retryAfterSeconds: number) {
    super(
      'too-many-runs',
      `The server is at capacity: ${running} run(s) in progress and ${queued} waiting (server.maxRunningRuns, server.maxQueuedRuns). Retry in about ${retryAfterSeconds} s.`,
      { retryable: true, context: { running, queued, retryAfterSeconds } },
    );
  }
}

/** Runs executing at once per CPU core by default: a run mostly waits on the LLM, the experts have a pool. */
export const RUNS_PER_CORE = 64;
/** Runs that may wait, per slot, by default. */
export const QUEUED_PER_SLOT = 4;

export interface AdmissionLimits {
  maxRunning: number;
  maxQueued: number;
  /** At most this many slots per key at once (undefined: a key alone may use them all). */
  maxRunningPerKey: number | undefined;
}

/** The limits the server's settings ask for, with the defaults sized to this machine. */
export function admissionLimits(server: {
  maxRunningRuns?: number | undefined;
  maxQueuedRuns?: number | undefined;
  maxConcurrentRunsPerKey?: number | undefined;
}): AdmissionLimits {
  const maxRunning = server.maxRunningRuns ?? RUNS_PER_CORE * availableParallelism();
  return {
    maxRunning,
    maxQueued: server.maxQueuedRuns ?? QUEUED_PER_SLOT * maxRunning,
    maxRunningPerKey: server.maxConcurrentRunsPerKey,
  };
}

/** A taken slot; `release` frees it (again is harmless). */
export interface Slot {
  readonly key: string;
  release(): void;
}

export interface AdmissionStats {
  running: number;
  queued: number;
  maxRunning: number;
  maxQueued: number;
  /** Slots granted and requests refused since the start. */
  admitted: number;
  refused: number;
}

export interface Admission {
  /**
   * A slot for `key`: at once when one is free and nobody waits, else after the requests queued before it (keys
   * in turn). Throws TooManyRunsError when the queue is full, CancelledError when `signal` aborts the wait.
   */
  acquire(key: string, signal?: AbortSignal): Promise<Slot>;
  stats(): AdmissionStats;
}

interface Waiter {
  key: string;
  grant(slot: Slot): void;
}

export function createAdmission(limits: AdmissionLimits): Admission {
  let running = 0;
  let queued = 0;
  let admitted = 0;
  let refused = 0;
  const runningByKey = new Map<string, number>();
  /** Waiters per key, each list first-in-first-out; the map's order is the round robin's. */
  const waiting = new Map<string, Waiter[]>();
  /** Recent run durations (ms), for the Retry-After estimate. */
  let averageHoldMs = 1000;

  const underKeyLimit = (key: string) =>
    limits.maxRunningPerKey === undefined || (runningByKey.get(key) ?? 0) < limits.maxRunningPerKey;

  function take(key: string): Slot {
    running += 1;
    admitted += 1;
    runningByKey.set(key, (runningByKey.get(key) ?? 0) + 1);
    const since = performance.now();
    let released = false;
    return {
      key,
      release() {
        if (released) return;
        released = true;
        running -= 1;
        const left = (runningByKey.get(key) ?? 1) - 1;
        if (left > 0) runningByKey.set(key, left);
        else runningByKey.delete(key);
        averageHoldMs = 0.9 * averageHoldMs + 0.1 * (performance.now() - since);
        dispatch();
      },
    };
  }

  /** Gives free slots to waiters, one key after another. */
  function dispatch(): void {
    while (running < limits.maxRunning && queued > 0) {
      let served = false;
      for (const [key, list] of waiting) {
        if (!underKeyLimit(key)) continue;
        const waiter = list.shift()!;
        queued -= 1;
        // The key goes to the back of the round robin; its list is dropped once empty.
        waiting.delete(key);
        if (list.length > 0) waiting.set(key, list);
        waiter.grant(take(key));
        served = true;
        break;
      }
      if (!served) return;
    }
  }

  function retryAfterSeconds(): number {
    const drainMs = (averageHoldMs * (queued + 1)) / Math.max(1, limits.maxRunning);
    return Math.min(60, Math.max(1, Math.ceil(drainMs / 1000)));
  }

  return {
    acquire(key, signal) {
      if (signal?.aborted) return Promise.reject(new CancelledError('The request'));
      if (running < limits.maxRunning && queued === 0 && underKeyLimit(key)) {
        return Promise.resolve(take(key));
      }
      if (queued >= limits.maxQueued) {
        refused += 1;
        return Promise.reject(new TooManyRunsError(running, queued, retryAfterSeconds()));
      }
      return new Promise<Slot>((resolve, reject) => {
        const onAbort = () => {
          const list = waiting.get(key);
          const index = list?.indexOf(waiter) ?? -1;
          if (index < 0) return;
          list!.splice(index, 1);
          if (list!.length === 0) waiting.delete(key);
          queued -= 1;
          reject(new CancelledError('The request'));
        };
        const waiter: Waiter = {
          key,
          grant(slot) {
            signal?.removeEventListener('abort', onAbort);
            resolve(slot);
          },
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        const list = waiting.get(key);
        if (list) list.push(waiter);
        else waiting.set(key, [waiter]);
        queued += 1;
        // A key under its own bound may start while another key's waiters are held by theirs.
        dispatch();
      });
    },
    stats: () => ({
      running,
      queued,
      maxRunning: limits.maxRunning,
      maxQueued: limits.maxQueued,
      admitted,
      refused,
    }),
  };
}
