import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ResourceLimits, Worker } from 'node:worker_threads';
import { type ErrorContext, InferenceError } from '../../core/errors.js';
import type { ArtifactSink, TaskOutput } from '../../core/output.js';
import { childProcesses } from '../../core/processes.js';
import { siblingModule, startModuleWorker } from '../../core/threads.js';
import {
  type JobRequest,
  type MainToWorker,
  reviveError,
  serializeError,
  WORKER_TAG,
  type WorkerBackendSpec,
  type WorkerData,
  type WorkerToMain,
} from './protocol.js';

/**
 * Expert workers per machine by default: one more than the cores, at most 4 (each worker keeps its own copy
 * of the models it ran, some 100-300 MB each). One more, because a plan's tasks come in small groups: three
 * detections on two cores with two workers take two whole rounds (the third waits for a worker), with three
 * workers the cores share them and all three end after one and a half.
 */
export function defaultPoolSize(): number {
  return Math.min(4, availableParallelism() + 1);
}

export interface ExpertPoolOptions {
  /** Most worker threads at once; each starts on first need. Default `defaultPoolSize()`. */
  size?: number;
  /** Memory limits of each worker's JavaScript heap: past them the job fails and its worker is replaced. */
  resourceLimits?: ResourceLimits;
}

export interface PoolJob {
  backend: WorkerBackendSpec;
  request: JobRequest;
  artifacts: ArtifactSink;
  signal: AbortSignal;
  onProgress?: (message: string) => void;
  /** Named in the error when the worker running the job dies. */
  context?: ErrorContext;
}

export interface PoolStats {
  size: number;
  /** Threads started since the pool was made, replacements included. */
  started: number;
  /** Threads ended because their job was cancelled or timed out. */
  terminated: number;
  /** Threads that died by themselves (crash, out of memory). */
  crashed: number;
  /** Each live worker: its thread, whether it runs a job, the models it has loaded, the programs it runs. */
  workers: { threadId: number; busy: boolean; warm: string[]; children: number[] }[];
  queued: number;
}

interface Job extends PoolJob {
  id: number;
  /** `backend:model`: a worker that ran it before has the model loaded. */
  key: string;
  resolve: (output: TaskOutput) => void;
  reject: (error: unknown) => void;
  slot?: Slot;
  detach: () => void;
}

interface Slot {
  worker: Worker;
  threadId: number;
  warm: Set<string>;
  job: Job | undefined;
  /**
   * Processes the worker started and that still run: the worker writes each pid here the moment it has
   * started the program (and clears it when the program ends), in memory shared with this thread, so that
   * ending the worker kills them even when it is terminated before any message about them could arrive.
   */
  childPids: Int32Array;
  ended: boolean;
}

const ENTRY = siblingModule(import.meta.url, 'worker');
/** Programs a worker can have running at once that are tracked (a decoder, flite, mkfifo: a few at most). */
const MAX_CHILDREN = 16;

function keyOf(backend: WorkerBackendSpec, modelId: string): string {
  return `${backend.kind}:${modelId}`;
}

/**
 * Worker threads that run expert models off the main event loop. A job goes to an idle worker that has its
 * model loaded already, else to any idle worker (a new one is started while fewer than `size` run), else
 * waits. A job whose signal aborts is dropped if it waits, and its worker terminated if it runs: a model
 * stuck in a long synchronous call stops using CPU and memory at once. A worker that dies fails its job with
 * a clear error and is replaced on the next need.
 */
export class ExpertPool {
  readonly size: number;
  readonly #resourceLimits: ResourceLimits | undefined;
  readonly #slots: Slot[] = [];
  readonly #queue: Job[] = [];
  #nextJob = 0;
  #closed = false;
  #started = 0;
  #terminated = 0;
  #crashed = 0;
  readonly #exits = new Set<Promise<unknown>>();

  constructor(options: ExpertPoolOptions = {}) {
    this.size = Math.max(1, Math.floor(options.size ?? defaultPoolSize()));
    this.#resourceLimits = options.resourceLimits;
  }

  run(job: PoolJob): Promise<TaskOutput> {
    if (this.#closed) return Promise.reject(new InferenceError('The expert worker pool is closed'));
    if (job.signal.aborted) return Promise.reject(job.signal.reason);
    return new Promise<TaskOutput>((resolve, reject) => {
      const onAbort = () => this.#abort(entry);
      const entry: Job = {
        ...job,
        id: ++this.#nextJob,
        key: keyOf(job.backend, job.request.modelId),
        resolve,
        reject,
        detach: () => job.signal.removeEventListener('abort', onAbort),
      };
      job.signal.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(entry);
      this.#pump();
    });
  }

  stats(): PoolStats {
    return {
      size: this.size,
      started: this.#started,
      terminated: this.#terminated,
      crashed: this.#crashed,
      workers: this.#slots.map((slot) => ({
        threadId: slot.threadId,
        busy: slot.job !== undefined,
        warm: [...slot.warm],
        children: [...slot.childPids].filter((pid) => pid !== 0),
      })),
      queued: this.#queue.length,
    };
  }

  /** Ends every worker (and the programs they started); waiting and running jobs fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) {
      job.detach();
      job.reject(new InferenceError('The expert worker pool was closed before the task ran'));
    }
    for (const slot of [...this.#slots])
      this.#end(slot, new InferenceError('The expert worker pool was closed'));
    await Promise.allSettled([...this.#exits]);
  }

  #pump(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const idle = this.#slots.filter((slot) => !slot.job && !slot.ended);
      // The first waiting job that an idle worker has warm goes there; otherwise the oldest job goes to a
      // worker with nothing loaded, a new one, or the idle one left. Only the first few waiting jobs may pass
      // the oldest, so that a stream of warm jobs cannot keep it waiting for ever.
      let chosen: { job: Job; slot: Slot | undefined } | undefined;
      for (const job of this.#queue.slice(0, this.size)) {
        const warm = idle.find((slot) => slot.warm.has(job.key));
        if (warm) {
          chosen = { job, slot: warm };
          break;
        }
      }
      if (!chosen) {
        const job = this.#queue[0] as Job;
        const fresh = idle.find((slot) => slot.warm.size === 0);
        if (fresh) chosen = { job, slot: fresh };
        else if (this.#slots.length < this.size) chosen = { job, slot: undefined };
        else if (idle[0]) chosen = { job, slot: idle[0] };
        else return;
      }
      this.#queue.splice(this.#queue.indexOf(chosen.job), 1);
      this.#assign(chosen.slot ?? this.#spawn(), chosen.job);
    }
  }

  #spawn(): Slot {
    const childPids = new Int32Array(new SharedArrayBuffer(MAX_CHILDREN * Int32Array.BYTES_PER_ELEMENT));
    const worker = startModuleWorker(ENTRY, {
      workerData: { childPids: childPids.buffer } satisfies WorkerData,
      ...(this.#resourceLimits ? { resourceLimits: this.#resourceLimits } : {}),
    });
    this.#started++;
    const slot: Slot = {
      worker,
      threadId: worker.threadId,
      warm: new Set(),
      job: undefined,
      childPids,
      ended: false,
    };
    this.#slots.push(slot);
    worker.on('message', (message: WorkerToMain) => this.#onMessage(slot, message));
    worker.on('error', (error: Error & { code?: string }) => {
      this.#crashed++;
      const what =
        error.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `ran out of memory${this.#resourceLimits?.maxOldGenerationSizeMb ? ` (limit ${this.#resourceLimits.maxOldGenerationSizeMb} MB)` : ''}`
          : `crashed: ${error.message}`;
      this.#end(slot, this.#crashError(slot, `The expert worker thread ${what}`, error));
    });
    worker.on('exit', (code) => {
      if (slot.ended) return;
      this.#crashed++;
      this.#end(slot, this.#crashError(slot, `The expert worker thread exited unexpectedly (code ${code})`));
    });
    return slot;
  }

  #crashError(slot: Slot, message: string, cause?: unknown): InferenceError {
    const context = slot.job?.context ?? {};
    const model = slot.job ? ` while running ${slot.job.request.modelId}` : '';
    return new InferenceError(`${message}${model}; a fresh worker takes the next task`, {
      ...(cause === undefined ? {} : { cause }),
      context,
    });
  }

  #assign(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    slot.worker.ref();
    const message: MainToWorker = { type: 'run', job: job.id, backend: job.backend, request: job.request };
    slot.worker.postMessage(message);
  }

  #onMessage(slot: Slot, message: WorkerToMain): void {
    const job = slot.job;
    if (!job || job.id !== message.job) return;
    switch (message.type) {
      case 'progress':
        job.onProgress?.(message.message);
        return;
      case 'artifact': {
        const reply = (answer: MainToWorker) => {
          if (!slot.ended) slot.worker.postMessage(answer);
        };
        job.artifacts.write(message.file).then(
          (artifact) => reply({ type: 'artifact-written', call: message.call, artifact }),
          (error: unknown) =>
            reply({ type: 'artifact-failed', call: message.call, error: serializeError(error) }),
        );
        return;
      }
      case 'done':
        slot.warm.add(job.key);
        this.#release(slot);
        job.resolve(message.output);
        return;
      case 'failed':
        this.#release(slot);
        job.reject(reviveError(message.error));
        return;
    }
  }

  #release(slot: Slot): void {
    const job = slot.job;
    job?.detach();
    slot.job = undefined;
    // An idle worker never keeps the process alive: a program that forgets close() still exits.
    slot.worker.unref();
    this.#pump();
  }

  #abort(job: Job): void {
    const waiting = this.#queue.indexOf(job);
    if (waiting >= 0) {
      this.#queue.splice(waiting, 1);
      job.reject(job.signal.reason);
      return;
    }
    if (job.slot && job.slot.job === job) {
      this.#terminated++;
      this.#end(job.slot, job.signal.reason);
    }
  }

  /** Terminates a worker and the programs it started; its job (if any) fails with `reason`. */
  #end(slot: Slot, reason: unknown): void {
    if (slot.ended) return;
    slot.ended = true;
    // Again once the worker has stopped: a program it started meanwhile is listed by then, or, started just
    // before the worker was stopped and not listed yet, found by the worker's tag in its environment.
    const killChildren = (afterExit: boolean) => {
      for (const pid of slot.childPids) if (pid !== 0) killProcess(pid);
      if (afterExit) for (const pid of taggedChildren(slot.threadId)) killProcess(pid);
    };
    killChildren(false);
    const index = this.#slots.indexOf(slot);
    if (index >= 0) this.#slots.splice(index, 1);
    const exit = slot.worker
      .terminate()
      .catch(() => undefined)
      .then(() => killChildren(true));
    this.#exits.add(exit);
    void exit.then(() => this.#exits.delete(exit));
    const job = slot.job;
    slot.job = undefined;
    if (job) {
      job.detach();
      job.reject(reason);
    }
    this.#pump();
  }
}

function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** This process's children (Linux) whose environment carries the tag of the worker `threadId`. */
function taggedChildren(threadId: number): number[] {
  const tag = `${WORKER_TAG}=${threadId}\0`;
  return childProcesses()
    .filter(({ pid }) => {
      try {
        return readFileSync(`/proc/${pid}/environ`, 'utf8').includes(tag);
      } catch {
        return false; // ended meanwhile, or not ours to read
      }
    })
    .map(({ pid }) => pid);
}
