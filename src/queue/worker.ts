/**
 * `jarvis worker`: takes stage-3 tasks from the queue and runs them on this machine's backends. It listens
 * on one BullMQ queue per model it offers, fetches input files from the server over the job's links, posts the
 * files it generates back, and reports progress as BullMQ job progress. Stalled-job recovery is BullMQ's: a
 * worker killed mid-task stops renewing its lock and another worker gets the job.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { type Job, UnrecoverableError, Worker } from 'bullmq';
import type { InferenceBackend, InferenceRequest, ModelCard } from '../core/backend.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Artifact, ArtifactSink, InputFile } from '../core/output.js';
import type { TaskName } from '../core/tasks.js';
import { connectRedis, DEFAULT_QUEUE_PREFIX, redisConnection } from './dispatcher.js';
import {
  JOB_FORMAT_VERSION,
  jobProblem,
  MAX_RESULT_BYTES,
  queueNameFor,
  type TaskJob,
  type TaskJobResult,
} from './job.js';
import { startHeartbeat, type WorkerAnnouncement } from './registry.js';

export interface QueueWorkerOptions {
  url: string;
  /** The Jarvis server whose jobs these are, for input files and generated files: `http://host:7860`. */
  serverUrl: string;
  backends: InferenceBackend[];
  /** Tasks this worker runs at once, over all its models. */
  concurrency: number;
  /** Only these models (`backend:model` or a bare model id); all available models of `backends` by default. */
  models?: string[];
  prefix?: string;
  /**
   * How long a running job's lock lasts without renewal: a worker that dies is noticed after about this long,
   * and its task handed to another worker. BullMQ's default is 30 s.
   */
  stallIntervalMs?: number;
  /** How long a worker's announcement outlives its last heartbeat. */
  heartbeatTtlMs?: number;
  id?: string;
  /** Largest input file it downloads. */
  maxInputBytes?: number;
  log?: (line: string) => void;
}

export interface RunningQueueWorker {
  readonly id: string;
  readonly models: WorkerAnnouncement['models'];
  /** Stops taking jobs, waits for running ones (or aborts them with `force`), leaves the registry. */
  close(force?: boolean): Promise<void>;
}

function matchesPin(card: ModelCard, pins: readonly string[]): boolean {
  return pins.some((pin) => pin === card.id || pin === `${card.backend}:${card.id}`);
}

/** Counts running tasks and makes the next one wait while `limit` run. */
function semaphore(limit: number) {
  let running = 0;
  const waiting: Array<() => void> = [];
  return {
    get running() {
      return running;
    },
    async acquire(signal: AbortSignal): Promise<void> {
      if (running < limit) {
        running += 1;
        return;
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          const index = waiting.indexOf(go);
          if (index >= 0) waiting.splice(index, 1);
          reject(signal.reason);
        };
        const go = () => {
          signal.removeEventListener('abort', onAbort);
          running += 1;
          resolve();
        };
        waiting.push(go);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    },
    release() {
      running -= 1;
      waiting.shift()?.();
    },
  };
}

export async function startQueueWorker(options: QueueWorkerOptions): Promise<RunningQueueWorker> {
  const prefix = options.prefix ?? DEFAULT_QUEUE_PREFIX;
  const id = options.id ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const log = options.log ?? (() => {});
  const server = options.serverUrl.replace(/\/+$/, '');
  const maxInputBytes = options.maxInputBytes ?? 100 * 1024 * 1024;
  const stallIntervalMs = options.stallIntervalMs ?? 30_000;
  const heartbeatTtlMs = options.heartbeatTtlMs ?? 15_000;

  const cards: ModelCard[] = [];
  for (const backend of options.backends) {
    for (const card of await backend.listModels()) {
      if (!card.available) continue;
      if (options.models && !matchesPin(card, options.models)) continue;
      cards.push(card);
    }
  }
  if (cards.length === 0) {
    const pinned = options.models ? ` matching ${options.models.join(', ')}` : '';
    throw new ConfigError(
      `this worker can run no models${pinned} with backends ${options.backends.map((b) => b.id).join(', ')}: see \`jarvis models\``,
    );
  }
  const connection = redisConnection(options.url);
  await connectRedis(connection, options.url);
  connection.on('error', () => {});
  const subscriber = connection.duplicate();
  subscriber.on('error', () => {});

  const slots = semaphore(options.concurrency);
  let done = 0;
  const models = cards.map((card) => ({
    backend: card.backend,
    id: card.id,
    task: card.task,
    description: card.description.slice(0, 500),
  }));
  const byQueue = new Map<string, Worker>();
  const startedAt = new Date().toISOString();

  const download = async (
    file: NonNullable<TaskJob['inputs']['image']>,
    folder: string,
    signal: AbortSignal,
  ) => {
    const response = await fetch(`${server}/v1/worker-files/${encodeURIComponent(file.token)}`, { signal });
    if (!response.ok) {
      throw new UnrecoverableError(
        `cannot fetch input ${file.name} from the server (HTTP ${response.status}): the job's link expired or the server restarted`,
      );
    }
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxInputBytes)
      throw new UnrecoverableError(`input ${file.name} is over ${maxInputBytes} bytes`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (bytes.byteLength > maxInputBytes)
      throw new UnrecoverableError(`input ${file.name} is over ${maxInputBytes} bytes`);
    const path = join(folder, `input-${randomBytes(4).toString('hex')}${extname(file.name).slice(0, 12)}`);
    await writeFile(path, bytes);
    return { path, mimeType: file.mimeType, name: file.name } satisfies InputFile;
  };

  const uploadingSink = (token: string, signal: AbortSignal): ArtifactSink => ({
    async write(file): Promise<Artifact> {
      const query = new URLSearchParams({ kind: file.kind, mime: file.mimeType, ext: file.extension });
      if (file.label !== undefined) query.set('label', file.label);
      const response = await fetch(`${server}/v1/worker-files/${encodeURIComponent(token)}?${query}`, {
        method: 'POST',
        body: new Blob([file.bytes as Uint8Array<ArrayBuffer>]),
        headers: { 'content-type': 'application/octet-stream' },
        signal,
      });
      const body = (await response.json().catch(() => ({}))) as { id?: string; error?: { message?: string } };
      if (!response.ok || typeof body.id !== 'string') {
        throw new Error(
          `the server refused a generated file (HTTP ${response.status}): ${body.error?.message ?? 'no reason given'}`,
        );
      }
      const artifact: Artifact = { kind: file.kind, path: `upload:${body.id}`, mimeType: file.mimeType };
      if (file.label !== undefined) artifact.label = file.label;
      return artifact;
    },
  });

  const processorFor =
    (backend: InferenceBackend, card: ModelCard) =>
    async (job: Job, _token?: string, cancelled?: AbortSignal): Promise<TaskJobResult> => {
      const problem = jobProblem(job.data);
      if (problem) throw new UnrecoverableError(problem);
      const data = job.data as TaskJob;
      if (data.backend !== card.backend || data.modelId !== card.id) {
        throw new UnrecoverableError(
          `job for ${data.backend}:${data.modelId} reached the queue of ${card.backend}:${card.id}`,
        );
      }
      const signal = AbortSignal.any([
        ...(cancelled ? [cancelled] : []),
        AbortSignal.timeout(data.timeoutMs),
      ]);
      await slots.acquire(signal);
      // A folder only for tasks with input files: text-only tasks touch no disk.
      let folder: string | undefined;
      const label = `${data.task} ${card.backend}:${card.id} (job ${job.id})`;
      log(`worker ${id}: started ${label}`);
      try {
        void job.updateProgress({ message: `started on worker ${id}`, worker: id }).catch(() => {});
        const inputs: InferenceRequest['inputs'] = {};
        if (data.inputs.text !== undefined) inputs.text = data.inputs.text;
        for (const kind of ['image', 'audio', 'video'] as const) {
          const file = data.inputs[kind];
          if (!file) continue;
          folder ??= await mkdtemp(join(tmpdir(), 'jarvis-worker-'));
          inputs[kind] = await download(file, folder, signal);
        }
        const output = await backend.infer({
          task: data.task as TaskName,
          modelId: data.modelId,
          inputs,
          artifacts: uploadingSink(data.uploadToken, signal),
          signal,
          onProgress: (message) => {
            void job.updateProgress({ message, worker: id }).catch(() => {});
          },
        });
        const result: TaskJobResult = {
          v: JOB_FORMAT_VERSION,
          artifacts: (output.artifacts ?? []).map((artifact) => artifact.path.replace(/^upload:/, '')),
          worker: id,
        };
        if (output.text !== undefined) result.text = output.text;
        if (output.data !== undefined) result.data = output.data;
        if (output.nothingFound !== undefined) result.nothingFound = output.nothingFound;
        if (output.how !== undefined) result.how = output.how;
        const size = Buffer.byteLength(JSON.stringify(result));
        if (size > MAX_RESULT_BYTES)
          throw new UnrecoverableError(`the result takes ${size} bytes, over ${MAX_RESULT_BYTES}`);
        log(`worker ${id}: finished ${label}`);
        return result;
      } catch (error) {
        // The expert's verdict is final: another worker with the same model would say the same.
        const final =
          error instanceof UnrecoverableError
            ? error
            : new UnrecoverableError(
                signal.aborted ? `stopped: ${errorMessage(signal.reason)}` : errorMessage(error),
              );
        log(`worker ${id}: failed ${label}: ${final.message}`);
        throw final;
      } finally {
        done += 1;
        slots.release();
        if (folder) await rm(folder, { recursive: true, force: true }).catch(() => {});
      }
    };

  for (const card of cards) {
    const backend = options.backends.find((candidate) => candidate.id === card.backend)!;
    const name = queueNameFor(card.backend, card.id);
    const worker = new Worker(name, processorFor(backend, card), {
      connection,
      prefix,
      concurrency: options.concurrency,
      // A dead worker's lock lapses after the stall interval and the check runs twice as often, so its
      // task is back in the queue within 1.5 x the interval.
      lockDuration: stallIntervalMs,
      stalledInterval: Math.max(100, Math.floor(stallIntervalMs / 2)),
      maxStalledCount: 1,
    });
    worker.on('error', (error) => log(`worker ${id}: queue ${name}: ${errorMessage(error)}`));
    byQueue.set(name, worker);
  }

  await subscriber.subscribe(`${prefix}:cancel`);
  subscriber.on('message', (_channel, message) => {
    try {
      const { queue, jobId, reason } = JSON.parse(message) as {
        queue?: string;
        jobId?: string;
        reason?: string;
      };
      if (queue && jobId) byQueue.get(queue)?.cancelJob(jobId, reason ?? 'cancelled by the server');
    } catch {}
  });

  const heartbeat = startHeartbeat(
    connection,
    prefix,
    heartbeatTtlMs,
    () => ({
      id,
      host: hostname(),
      pid: process.pid,
      backends: [...new Set(cards.map((card) => card.backend))],
      models,
      concurrency: options.concurrency,
      running: slots.running,
      done,
      startedAt,
    }),
    (error) => log(`worker ${id}: heartbeat failed: ${errorMessage(error)}`),
  );
  await heartbeat.beat();
  log(`worker ${id}: offering ${cards.length} model(s) to ${server}, ${options.concurrency} at a time`);

  return {
    id,
    models,
    async close(force = false) {
      await heartbeat.stop();
      await Promise.all([...byQueue.values()].map((worker) => worker.close(force).catch(() => {})));
      await subscriber.quit().catch(() => subscriber.disconnect());
      await connection.quit().catch(() => connection.disconnect());
    },
  };
}
