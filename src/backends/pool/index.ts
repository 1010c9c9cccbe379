import type { InferenceBackend, InferenceRequest } from '../../core/backend.js';
import type { TaskOutput } from '../../core/output.js';
import type { WorkerBackendSpec } from './protocol.js';
import { ExpertPool, type ExpertPoolOptions } from './worker-pool.js';

export type { WorkerBackendSpec } from './protocol.js';
export { defaultPoolSize, ExpertPool, type ExpertPoolOptions, type PoolStats } from './worker-pool.js';

let shared: { pool: ExpertPool; users: number } | undefined;

/**
 * The process's expert pool, shared by every backend that asks (a server builds several pipelines; they
 * share the machine's cores). The first caller's size wins; the pool closes when its last user releases it.
 */
export function acquireSharedPool(options: ExpertPoolOptions = {}): {
  pool: ExpertPool;
  release: () => Promise<void>;
} {
  if (!shared) shared = { pool: new ExpertPool(options), users: 0 };
  const current = shared;
  current.users++;
  let released = false;
  return {
    pool: current.pool,
    async release() {
      if (released) return;
      released = true;
      if (--current.users > 0) return;
      if (shared === current) shared = undefined;
      await current.pool.close();
    },
  };
}

export interface PooledBackendOptions {
  pool: ExpertPool;
  /** What a worker builds to run this backend's jobs. */
  spec: WorkerBackendSpec;
  /** Requests that run on the main thread with `inner` (an expert that needs the controller LLM). */
  onMainThread?: (request: InferenceRequest) => boolean;
  /** Called by close(), after the inner backend closed: gives the pool back. */
  release?: () => Promise<void>;
}

/**
 * The same backend, with its inference in the worker pool: `inner` keeps answering what is cheap (which
 * tasks, which models, whether they can run) on the main thread; `infer` sends the request to a worker.
 */
export function createPooledBackend(
  inner: InferenceBackend,
  options: PooledBackendOptions,
): InferenceBackend {
  return {
    specificationVersion: 'v1',
    id: inner.id,
    supports: (task) => inner.supports(task),
    listModels: (task) => inner.listModels(task),
    infer(request: InferenceRequest): Promise<TaskOutput> {
      if (options.onMainThread?.(request)) return inner.infer(request);
      return options.pool.run({
        backend: options.spec,
        request: { task: request.task, modelId: request.modelId, inputs: request.inputs },
        artifacts: request.artifacts,
        signal: request.signal,
        ...(request.onProgress ? { onProgress: request.onProgress } : {}),
        context: { task: request.task, modelId: request.modelId, backend: inner.id },
      });
    },
    async close(): Promise<void> {
      await inner.close?.();
      await options.release?.();
    },
  };
}
