/**
 * The server's side of scale-out: stage 3 hands each task to a BullMQ job when a live worker offers its model,
 * and runs it in-process as before when none does. Wrapping a backend keeps its id and interface, so the
 * catalog, selection and the scheduler (timeouts, cancellation, fallbacks) work unchanged.
 */
import { randomUUID } from 'node:crypto';
import { type Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { JarvisConfig } from '../config/schema.js';
import type { InferenceBackend, InferenceRequest, ModelCard } from '../core/backend.js';
import { ConfigError, errorMessage, InferenceError, JarvisError } from '../core/errors.js';
import { type Artifact, inputName, type TaskOutput } from '../core/output.js';
import type { TaskName } from '../core/tasks.js';
import { createFileExchange, type FileExchange } from './file-exchange.js';
import {
  JOB_FORMAT_VERSION,
  MAX_JOB_BYTES,
  queueNameFor,
  type TaskJob,
  taskJobProgressSchema,
  taskJobResultSchema,
} from './job.js';
import { liveWorkers, type WorkerAnnouncement } from './registry.js';

export const DEFAULT_QUEUE_PREFIX = 'jarvis';

export interface QueueDispatcherOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  prefix?: string;
  /** What a task may take at most (the scheduler's timeout): tokens and jobs expire after it. */
  taskTimeoutMs: number;
  /** Bytes one task's generated files may take in all. */
  maxUploadBytes: number;
  log?: (line: string) => void;
}

export interface QueueDispatcher {
  readonly exchange: FileExchange;
  /** Sends the backend's tasks to workers that offer them; runs the rest in-process. */
  wrap(backend: InferenceBackend): InferenceBackend;
  /** Workers whose heartbeat has not expired. */
  workers(): Promise<WorkerAnnouncement[]>;
  close(): Promise<void>;
}

/** One redis connection option set for every client: BullMQ requires `maxRetriesPerRequest: null`. */
export function redisConnection(url: string): Redis {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`queue URL "${url}" is not a URL; expected redis://host:6379`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new ConfigError(`queue URL "${url}" must start with redis:// or rediss://`);
  return new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true });
}

/** Connects, or says in one line that Redis cannot be reached (instead of retrying forever in silence). */
export async function connectRedis(redis: Redis, url: string, timeoutMs = 5000): Promise<void> {
  const shown = url.replace(/\/\/[^@/]*@/, '//***@');
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.connect().then(() => redis.ping()),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } catch (error) {
    redis.disconnect();
    throw new ConfigError(
      `cannot reach Redis at ${shown}: ${errorMessage(error)}. Start redis-server (or check --queue / JARVIS_QUEUE_URL).`,
    );
  } finally {
    clearTimeout(timer);
  }
}

const WORKERS_CACHE_MS = 1000;

/** The dispatcher the settings ask for (`queue.url`), or undefined when tasks run in-process. */
export async function queueDispatcherFor(config: JarvisConfig): Promise<QueueDispatcher | undefined> {
  if (!config.queue.url) return undefined;
  return createQueueDispatcher({
    url: config.queue.url,
    prefix: config.queue.prefix,
    taskTimeoutMs: config.execute.taskTimeoutMs,
    maxUploadBytes: config.server.maxUploadBytes,
  });
}

export async function createQueueDispatcher(options: QueueDispatcherOptions): Promise<QueueDispatcher> {
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const log = options.log ?? (() => {});
  const connection = redisConnection(options.url);
  await connectRedis(connection, options.url);
  connection.on('error', () => {}); // ioredis reconnects by itself; a closed socket is not a crash
  const exchange = createFileExchange();
  const queues = new Map<string, { queue: Queue; events: QueueEvents; ready: Promise<unknown> }>();
  /** What the server waits to hear about each job it added, by `<queue>/<job id>`. */
  const listeners = new Map<
    string,
    {
      progress(data: unknown): void;
      stalled(): void;
      completed(value: unknown): void;
      failed(reason: string): void;
    }
  >();
  let cached: { at: number; workers: WorkerAnnouncement[] } | undefined;
  let closed = false;

  const workers = async (fresh = false): Promise<WorkerAnnouncement[]> => {
    if (!fresh && cached && Date.now() - cached.at < WORKERS_CACHE_MS) return cached.workers;
    const found = await liveWorkers(connection, prefix).catch((error: unknown) => {
      log(`queue: cannot list workers: ${errorMessage(error)}`);
      return cached?.workers ?? [];
    });
    cached = { at: Date.now(), workers: found };
    return found;
  };

  const queueFor = (name: string) => {
    let entry = queues.get(name);
    if (!entry) {
      const queue = new Queue(name, { connection, prefix });
      const events = new QueueEvents(name, { connection, prefix });
      events.on('progress', ({ jobId, data }) => listeners.get(`${name}/${jobId}`)?.progress(data));
      events.on('stalled', ({ jobId }) => listeners.get(`${name}/${jobId}`)?.stalled());
      events.on('completed', ({ jobId, returnvalue }) =>
        listeners.get(`${name}/${jobId}`)?.completed(returnvalue),
      );
      events.on('failed', ({ jobId, failedReason }) =>
        listeners.get(`${name}/${jobId}`)?.failed(failedReason),
      );
      events.on('error', () => {});
      queue.on('error', () => {});
      entry = { queue, events, ready: events.waitUntilReady() };
      queues.set(name, entry);
    }
    return entry;
  };

  const offers = (list: WorkerAnnouncement[], backend: string, modelId: string) =>
    list.filter((worker) => worker.models.some((model) => model.backend === backend && model.id === modelId));

  async function dispatch(backend: InferenceBackend, request: InferenceRequest): Promise<TaskOutput> {
    const errorContext = { task: request.task, modelId: request.modelId, backend: backend.id };
    const name = queueNameFor(backend.id, request.modelId);
    const { queue, ready } = queueFor(name);
    const ttl = options.taskTimeoutMs + 60_000;
    const tokens: string[] = [];
    const uploads = exchange.openUploads(ttl, options.maxUploadBytes);
    const inputs: TaskJob['inputs'] = {};
    if (request.inputs.text !== undefined) inputs.text = request.inputs.text;
    for (const kind of ['image', 'audio', 'video'] as const) {
      const file = request.inputs[kind];
      if (!file) continue;
      const fileName = inputName(file);
      const token = exchange.offer(file, fileName, ttl);
      tokens.push(token);
      inputs[kind] = { token, mimeType: file.mimeType, name: fileName };
    }
    const data: TaskJob = {
      v: JOB_FORMAT_VERSION,
      backend: backend.id,
      modelId: request.modelId,
      task: request.task,
      inputs,
      uploadToken: uploads.token,
      timeoutMs: options.taskTimeoutMs,
    };
    // The job id is ours, so the server listens for the job's end before the job exists: a fast worker
    // cannot finish it unheard.
    const jobId = randomUUID();
    const key = `${name}/${jobId}`;
    let job: Job | undefined;
    try {
      const size = Buffer.byteLength(JSON.stringify(data));
      if (size > MAX_JOB_BYTES) {
        throw new InferenceError(
          `the task's inputs take ${size} bytes as a job, over the queue's limit of ${MAX_JOB_BYTES}`,
          { context: errorContext },
        );
      }
      request.signal.throwIfAborted();
      const settled = new Promise<unknown>((resolve, reject) => {
        listeners.set(key, {
          progress(payload) {
            const progress = taskJobProgressSchema.safeParse(payload);
            if (progress.success) request.onProgress?.(`${progress.data.worker}: ${progress.data.message}`);
          },
          stalled() {
            request.onProgress?.(
              'the worker running this task stopped answering; the task was handed to another worker (retried)',
            );
          },
          completed: resolve,
          failed: (reason) => reject(new Error(reason)),
        });
      });
      await ready;
      job = await queue.add(request.task, data, {
        jobId,
        attempts: 1,
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 24 * 3600, count: 1000 },
      });
      request.onProgress?.('queued for a worker');
      const orphaned = watchForOrphan(queue, job, key, backend.id, request.modelId, settled);
      const aborted = new Promise<never>((_, reject) => {
        const onAbort = () => {
          reject(request.signal.reason);
          void cancel(queue, job, errorMessage(request.signal.reason));
        };
        if (request.signal.aborted) onAbort();
        else request.signal.addEventListener('abort', onAbort, { once: true });
        settled.finally(() => request.signal.removeEventListener('abort', onAbort)).catch(() => {});
      });
      let value: unknown;
      try {
        value = await Promise.race([settled, aborted, orphaned]);
      } catch (error) {
        if (request.signal.aborted) throw request.signal.reason;
        if (error instanceof JarvisError) throw error;
        throw new InferenceError(`worker failed: ${errorMessage(error)}`, {
          cause: error,
          context: errorContext,
        });
      }
      const result = taskJobResultSchema.safeParse(value);
      if (!result.success) {
        throw new InferenceError(`a worker sent a result this server cannot read (job ${job.id})`, {
          context: errorContext,
        });
      }
      const artifacts: Artifact[] = [];
      for (const file of uploads.take(result.data.artifacts))
        artifacts.push(await request.artifacts.write(file));
      const output: TaskOutput = {};
      if (result.data.text !== undefined) output.text = result.data.text;
      if (result.data.data !== undefined) output.data = result.data.data;
      if (artifacts.length > 0) output.artifacts = artifacts;
      if (result.data.nothingFound !== undefined) output.nothingFound = result.data.nothingFound;
      if (result.data.how !== undefined) output.how = result.data.how;
      return output;
    } finally {
      listeners.delete(key);
      for (const token of tokens) exchange.revoke(token);
      uploads.close();
    }
  }

  /**
   * A job waits in its model's queue only while some live worker offers that model: when the last one is
   * gone (stopped, or its heartbeat expired after a crash) the job is taken back and the task fails at once
   * with the reason, instead of waiting for its timeout. A job already running is BullMQ's to recover.
   */
  function watchForOrphan(
    queue: Queue,
    job: Job,
    key: string,
    backendId: string,
    modelId: string,
    settled: Promise<unknown>,
  ): Promise<never> {
    return new Promise<never>((_, reject) => {
      let done = false;
      const timer = setInterval(async () => {
        if (done) return;
        try {
          const state = await job.getState();
          // An end whose event was missed (Redis restarted in between) is read from the job itself.
          if (state === 'completed' || state === 'failed') {
            const ended = await queue.getJob(job.id!);
            if (state === 'completed') listeners.get(key)?.completed(ended?.returnvalue);
            else listeners.get(key)?.failed(ended?.failedReason ?? 'failed');
            return;
          }
          if (state !== 'waiting' && state !== 'prioritized' && state !== 'delayed') return;
          if (offers(await workers(true), backendId, modelId).length > 0) return;
          await job.remove();
          done = true;
          clearInterval(timer);
          reject(
            new InferenceError(
              `no live worker offers ${backendId}:${modelId} any more (the last one stopped before it took the task from queue ${queue.name})`,
              { context: { modelId, backend: backendId } },
            ),
          );
        } catch {
          // Redis is away or a worker took the job in between: look again on the next tick.
        }
      }, WORKERS_CACHE_MS);
      timer.unref();
      settled
        .catch(() => {})
        .finally(() => {
          done = true;
          clearInterval(timer);
        });
    });
  }

  /** A job still waiting is removed; one running is aborted on its worker (every worker hears the request). */
  async function cancel(queue: Queue, job: Job | undefined, reason: string): Promise<void> {
    if (!job?.id) return;
    try {
      const state = await job.getState();
      if (state === 'waiting' || state === 'delayed' || state === 'prioritized') await job.remove();
    } catch {
      // A worker took it between the two calls: the message below reaches it.
    }
    await connection
      .publish(`${prefix}:cancel`, JSON.stringify({ queue: queue.name, jobId: job.id, reason }))
      .catch(() => {});
  }

  return {
    exchange,
    workers,
    wrap(backend) {
      return {
        specificationVersion: 'v1',
        id: backend.id,
        supports: (task: TaskName) =>
          backend.supports(task) ||
          (cached?.workers ?? []).some((worker) =>
            worker.models.some((model) => model.backend === backend.id && model.task === task),
          ),
        async listModels(task?: TaskName): Promise<ModelCard[]> {
          const [own, live] = await Promise.all([backend.listModels(task), workers()]);
          const cards = new Map(own.map((card) => [card.id, card]));
          for (const worker of live) {
            for (const model of worker.models) {
              if (model.backend !== backend.id || (task !== undefined && model.task !== task)) continue;
              const known = cards.get(model.id);
              if (known?.available) continue;
              const base: ModelCard = known ?? {
                id: model.id,
                backend: backend.id,
                task: model.task as TaskName,
                description: model.description ?? `${model.id} (offered by worker ${worker.id})`,
                source: 'worker',
                local: false,
                available: true,
              };
              const { reason: _reason, ...rest } = base;
              cards.set(model.id, { ...rest, available: true, tags: [...(base.tags ?? []), 'worker'] });
            }
          }
          return [...cards.values()];
        },
        async infer(request: InferenceRequest): Promise<TaskOutput> {
          if (closed || offers(await workers(true), backend.id, request.modelId).length === 0) {
            return backend.infer(request);
          }
          try {
            return await dispatch(backend, request);
          } catch (error) {
            if (error instanceof JarvisError || request.signal.aborted) throw error;
            throw new InferenceError(`queue: ${errorMessage(error)}`, {
              cause: error,
              context: { task: request.task, modelId: request.modelId, backend: backend.id },
            });
          }
        },
        ...(backend.close ? { close: () => backend.close?.() ?? Promise.resolve() } : {}),
      };
    },
    async close() {
      closed = true;
      await Promise.all(
        [...queues.values()].map(async ({ queue, events }) => {
          await events.close().catch(() => {});
          await queue.close().catch(() => {});
        }),
      );
      queues.clear();
      connection.disconnect();
    },
  };
}
