import { homedir } from 'node:os';
import { join } from 'node:path';
import {
  DOWNLOAD_ON_FIRST_USE,
  type InferenceBackend,
  type InferenceRequest,
  type ModelCard,
} from '../../core/backend.js';
import {
  CancelledError,
  errorMessage,
  InferenceError,
  JarvisError,
  ModelUnavailableError,
  NoSuchModelError,
} from '../../core/errors.js';
import type { TaskOutput } from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';
import { checkImageSize } from '../shared/image-size.js';
import { CURATED_MODELS, type CuratedModel } from './curated.js';
import { defaultPythonHubCache, dtypeFor, type StoredModel, scanModels } from './model-store.js';
import { type LoadedPipeline, pipelineTask, runnerFor, TRANSFORMERS_TASKS } from './tasks.js';

export { CURATED_MODELS, type CuratedModel } from './curated.js';
export { defaultPythonHubCache, type StoredModel, scanModels, tasksOf } from './model-store.js';
export { splitLabels, TRANSFORMERS_TASKS } from './tasks.js';

export const TRANSFORMERS_BACKEND_ID = 'transformers';

export interface TransformersBackendOptions {
  /** Where downloaded models are kept (transformers.js's file cache, `<organisation>/<name>/...`). */
  cacheDir?: string;
  /** Never download: a model that is not on this machine fails with "model X is not in the cache". */
  offline: boolean;
  /** A folder of models the user put there, in the same `<organisation>/<name>` layout; searched first. */
  modelsDir?: string;
  /** Python's Hugging Face cache to search too (`false` to skip); `$HF_HUB_CACHE` or ~/.cache/huggingface/hub. */
  pythonHubCache?: string | false;
  /** Where models are downloaded from (a Hub mirror); tests use a loopback server. */
  remoteHost?: string;
  /** Weights to download when a model is not cached (default `q8`, the smallest widely available). */
  downloadDtype?: 'fp32' | 'fp16' | 'q8' | 'q4';
  /** ONNX Runtime threads per model; unset lets it decide. */
  threads?: number;
  /** Models kept loaded at once; the least recently used is freed beyond this (default 4). */
  maxLoadedModels?: number;
  /** Models listed (as not yet downloaded) when absent; the default is a small documented set. */
  curated?: readonly CuratedModel[];
}

/** The backend plus an explicit download, for a command that fetches a model before it is needed. */
export interface TransformersBackend extends InferenceBackend {
  /**
   * Makes a model available: downloads it into the cache (unless it is there already) and checks that it
   * loads for `task`. Fails with ModelUnavailableError when offline or when the download fails.
   */
  download(
    modelId: string,
    task: TaskName,
    options?: { onProgress?: (message: string) => void; signal?: AbortSignal },
  ): Promise<StoredModel>;
}

type TransformersModule = typeof import('@huggingface/transformers');

/** A loaded model and the queue its runs go through (one at a time per model). */
interface LoadedEntry {
  pipe: Promise<LoadedPipeline>;
  run: <T>(job: () => Promise<T>) => Promise<T>;
  /** Set when the model was freed to make room; a run that finds it set loads the model again. */
  evicted: boolean;
}

/** What a queued run returns when its model was freed while it waited. */
const RELOAD = Symbol('reload');

let transformersModule: Promise<TransformersModule> | undefined;

/** Loaded on first use: importing transformers.js starts ONNX Runtime, which listing models never needs. */
function loadTransformers(): Promise<TransformersModule> {
  transformersModule ??= import('@huggingface/transformers');
  return transformersModule;
}

const MB = 1024 * 1024;
const megabytes = (bytes: number): string => `${Math.max(1, Math.round(bytes / MB))} MB`;

/** Runs jobs one at a time: loads share transformers.js's global settings, and 2 cores gain nothing from more. */
function serialQueue(): <T>(job: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(job: () => Promise<T>): Promise<T> => {
    const result = tail.then(job, job);
    tail = result.catch(() => undefined);
    return result;
  };
}

/**
 * ONNX models on the CPU through transformers.js. Models come from a configured folder, the
 * transformers.js cache or Python's Hugging Face cache; a model that is not there is downloaded on first
 * use with progress, unless offline, where it fails with a clear "not in the cache" error.
 */
export function createTransformersBackend(options: TransformersBackendOptions): TransformersBackend {
  const cacheDir = options.cacheDir ?? join(homedir(), '.cache', 'jarvis', 'transformers');
  const pythonHubCache =
    options.pythonHubCache === false ? undefined : (options.pythonHubCache ?? defaultPythonHubCache());
  const curated = options.curated ?? CURATED_MODELS;
  const tasks = new Set<TaskName>(TRANSFORMERS_TASKS);
  const loadQueue = serialQueue();
  const pipelines = new Map<string, LoadedEntry>();
  let scan: { at: number; models: Promise<StoredModel[]> } | undefined;
  const maxLoaded = Math.max(1, options.maxLoadedModels ?? 4);

  /** Frees the least recently used models beyond `limit`, each after the runs already queued on it. */
  function evictBeyond(limit: number): void {
    while (pipelines.size > limit) {
      const [oldestKey, oldest] = pipelines.entries().next().value as [string, LoadedEntry];
      pipelines.delete(oldestKey);
      oldest.evicted = true;
      void oldest.run(async () => {
        const pipe = await oldest.pipe.catch(() => undefined);
        await pipe?.dispose?.();
      });
    }
  }

  const searched = (): string =>
    [options.modelsDir, cacheDir, pythonHubCache]
      .filter((dir): dir is string => dir !== undefined)
      .join(', ');

  /** Scans the folders at most every 2 s: listing happens per task, several times per run. */
  function storedModels(fresh = false): Promise<StoredModel[]> {
    if (!fresh && scan && Date.now() - scan.at < 2_000) return scan.models;
    const models = scanModels({
      cacheDir,
      ...(options.modelsDir ? { modelsDir: options.modelsDir } : {}),
      ...(pythonHubCache ? { pythonHubCache } : {}),
    });
    scan = { at: Date.now(), models };
    return models;
  }

  function cardOf(model: StoredModel, task: TaskName): ModelCard {
    const known = curated.find((entry) => entry.id === model.id && entry.task === task);
    const architecture = model.config.architectures?.[0] ?? model.config.model_type ?? 'ONNX';
    return {
      id: model.id,
      backend: TRANSFORMERS_BACKEND_ID,
      task,
      description:
        known?.description ?? `${architecture} ONNX model from the ${model.origin}, run on the CPU.`,
      source: 'cache',
      sizeBytes: model.sizeBytes,
      tags: ['onnx', 'transformers.js', model.config.model_type ?? 'unknown'],
      local: true,
      available: true,
    };
  }

  // Whether the Hub answers, asked at most once a minute: a model that is not here is available only if it
  // can be downloaded now.
  const hubUrl = (options.remoteHost ?? 'https://huggingface.co').replace(/\/+$/, '');
  let hubCheck: { at: number; problem: Promise<string | undefined> } | undefined;
  function hubProblem(): Promise<string | undefined> {
    if (hubCheck && Date.now() - hubCheck.at < 60_000) return hubCheck.problem;
    const problem = fetch(`${hubUrl}/api/models?limit=1`, {
      method: 'HEAD',
      signal: AbortSignal.timeout(3000),
    })
      .then((response) => (response.status >= 500 ? `${hubUrl} answered HTTP ${response.status}` : undefined))
      .catch((error: unknown) => {
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        return `${hubUrl} cannot be reached (${cause ?? errorMessage(error)})`;
      });
    hubCheck = { at: Date.now(), problem };
    return problem;
  }

  function absentCard(entry: CuratedModel, hubDown: string | undefined): ModelCard {
    const card = {
      id: entry.id,
      backend: TRANSFORMERS_BACKEND_ID,
      task: entry.task,
      source: 'built-in',
      sizeBytes: entry.sizeBytes,
      local: true,
    };
    if (options.offline || hubDown !== undefined) {
      const why = options.offline ? 'Jarvis is offline' : hubDown;
      return {
        ...card,
        description: entry.description,
        tags: ['onnx', 'transformers.js'],
        available: false,
        reason: `not in the model cache (${cacheDir}) and ${why}: when online, \`jarvis pull ${entry.id}\` downloads it (about ${megabytes(entry.sizeBytes)})`,
      };
    }
    // Online, a documented model is downloaded the first time a task runs it (with progress); the catalog
    // ranks it after models that are ready, and a failed download falls back to the next candidate.
    return {
      ...card,
      description: `${entry.description} Downloaded on first use (about ${megabytes(entry.sizeBytes)}), or now with \`jarvis pull ${entry.id}\`.`,
      tags: ['onnx', 'transformers.js', DOWNLOAD_ON_FIRST_USE],
      available: true,
    };
  }

  async function listModels(task?: TaskName): Promise<ModelCard[]> {
    const stored = await storedModels();
    const cards: ModelCard[] = [];
    for (const model of stored) {
      for (const modelTask of model.tasks) {
        if (!tasks.has(modelTask) || (task !== undefined && modelTask !== task)) continue;
        cards.push(cardOf(model, modelTask));
      }
    }
    const absent = curated.filter(
      (entry) =>
        (task === undefined || entry.task === task) && !stored.some((model) => model.id === entry.id),
    );
    const hubDown = absent.length > 0 && !options.offline ? await hubProblem() : undefined;
    for (const entry of absent) cards.push(absentCard(entry, hubDown));
    return cards;
  }

  function progressReporter(modelId: string, report: ((message: string) => void) | undefined) {
    let lastStep = -1;
    return (info: { status: string; progress?: number; total?: number; file?: string }): void => {
      if (!report) return;
      if (info.status === 'progress_total' && typeof info.progress === 'number') {
        const step = Math.floor(info.progress / 10);
        if (step <= lastStep) return;
        lastStep = step;
        const size = info.total ? ` of ${megabytes(info.total)}` : '';
        report(`downloading ${modelId}: ${Math.min(100, step * 10)}%${size}`);
      }
    };
  }

  async function loadPipeline(
    request: InferenceRequest,
    stored: StoredModel | undefined,
  ): Promise<LoadedPipeline> {
    const { env, pipeline } = await loadTransformers();
    const context = { task: request.task, modelId: request.modelId, backend: TRANSFORMERS_BACKEND_ID };
    const sessionOptions = options.threads
      ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 }
      : {};
    if (stored) {
      request.onProgress?.(`loading ${request.modelId} from the ${stored.origin} ...`);
      env.allowLocalModels = true;
      // Files on disk only: a missing tokenizer file must be an error here, not a silent download.
      env.allowRemoteModels = false;
      const dtype = await dtypeFor(stored.dir);
      try {
        return (await pipeline(pipelineTask(request.task) as never, stored.dir, {
          local_files_only: true,
          device: 'cpu',
          ...(dtype ? { dtype } : {}),
          session_options: sessionOptions,
        })) as unknown as LoadedPipeline;
      } catch (error) {
        throw new ModelUnavailableError(
          `${request.modelId} in ${stored.dir} could not be loaded for ${request.task}: ${errorMessage(error)}`,
          context,
        );
      }
    }
    env.allowRemoteModels = true;
    env.allowLocalModels = true;
    env.useFSCache = true;
    env.cacheDir = cacheDir;
    env.localModelPath = options.modelsDir ?? cacheDir;
    if (options.remoteHost)
      env.remoteHost = options.remoteHost.endsWith('/') ? options.remoteHost : `${options.remoteHost}/`;
    request.onProgress?.(`${request.modelId} is not in the cache: downloading it into ${cacheDir}`);
    try {
      const loaded = (await pipeline(pipelineTask(request.task) as never, request.modelId, {
        cache_dir: cacheDir,
        device: 'cpu',
        dtype: options.downloadDtype ?? 'q8',
        session_options: sessionOptions,
        progress_callback: progressReporter(request.modelId, request.onProgress) as never,
      })) as unknown as LoadedPipeline;
      scan = undefined;
      return loaded;
    } catch (error) {
      throw new ModelUnavailableError(
        `model ${request.modelId} is not in the cache and could not be downloaded from ${env.remoteHost}: ${errorMessage(error)}`,
        context,
      );
    } finally {
      // Later loads of cached models must never reach the network by accident.
      env.allowRemoteModels = false;
    }
  }

  async function infer(request: InferenceRequest): Promise<TaskOutput> {
    const context = { task: request.task, modelId: request.modelId, backend: TRANSFORMERS_BACKEND_ID };
    const runner = runnerFor(request.task);
    if (!runner) {
      throw new ModelUnavailableError(
        `transformers.js does not run ${request.task} here; it runs: ${TRANSFORMERS_TASKS.join(', ')}`,
        context,
      );
    }
    if (request.signal.aborted) throw new CancelledError('The task');
    // transformers.js decodes images by path with its own sharp call, at full size.
    if (request.inputs.image) await checkImageSize(request.inputs.image.path);
    let stored = (await storedModels()).find((model) => model.id === request.modelId);
    stored ??= (await storedModels(true)).find((model) => model.id === request.modelId);
    if (stored && stored.tasks.length > 0 && !stored.tasks.includes(request.task)) {
      const others = (await listModels(request.task)).filter((card) => card.available).map((card) => card.id);
      throw new NoSuchModelError(
        `${request.modelId} (it does ${stored.tasks.join(', ')}, not ${request.task})`,
        others,
        context,
      );
    }
    if (!stored && options.offline) {
      throw new ModelUnavailableError(
        `model ${request.modelId} is not in the cache (searched ${searched()}) and Jarvis is offline (--offline / JARVIS_OFFLINE=1): run once online to download it, or put its files in ${options.modelsDir ?? cacheDir}/${request.modelId}`,
        context,
      );
    }
    const key = `${pipelineTask(request.task)}|${request.modelId}`;
    let entry = pipelines.get(key);
    if (entry) {
      // Most recently used last, so the first entry is the one to let go of.
      pipelines.delete(key);
      pipelines.set(key, entry);
    } else {
      const pipe = loadQueue(() => loadPipeline(request, stored));
      const created: LoadedEntry = { pipe, run: serialQueue(), evicted: false };
      entry = created;
      pipelines.set(key, created);
      // A failed load is forgotten, so a later call can retry (the network may be back).
      pipe.catch(() => {
        if (pipelines.get(key) === created) pipelines.delete(key);
      });
      evictBeyond(maxLoaded);
    }
    const current = entry;
    const pipe = await current.pipe;
    if (request.signal.aborted) throw new CancelledError('The task');
    try {
      const output = await current.run(async () => (current.evicted ? RELOAD : runner(pipe, request)));
      return output === RELOAD ? infer(request) : output;
    } catch (error) {
      if (error instanceof JarvisError) throw error;
      throw new InferenceError(`${request.modelId} failed: ${errorMessage(error)}`, {
        cause: error,
        context,
      });
    }
  }

  return {
    specificationVersion: 'v1',
    id: TRANSFORMERS_BACKEND_ID,
    supports(task: TaskName): boolean {
      return tasks.has(task);
    },
    listModels,
    infer,
    async download(modelId, task, downloadOptions = {}) {
      const context = { task, modelId, backend: TRANSFORMERS_BACKEND_ID };
      if (!tasks.has(task))
        throw new ModelUnavailableError(`transformers.js does not run ${task} here`, context);
      const present = (await storedModels(true)).find((model) => model.id === modelId);
      if (present) return present;
      if (options.offline) {
        throw new ModelUnavailableError(
          `cannot download ${modelId}: Jarvis is offline (--offline / JARVIS_OFFLINE=1)`,
          context,
        );
      }
      const request: InferenceRequest = {
        task,
        modelId,
        inputs: {},
        artifacts: {
          write: () => Promise.reject(new Error('a download writes no artifacts')),
        },
        signal: downloadOptions.signal ?? new AbortController().signal,
        ...(downloadOptions.onProgress ? { onProgress: downloadOptions.onProgress } : {}),
      };
      const pipe = await loadQueue(() => loadPipeline(request, undefined));
      await pipe.dispose?.();
      const stored = (await storedModels(true)).find((model) => model.id === modelId);
      if (!stored)
        throw new ModelUnavailableError(`${modelId} was downloaded but is not in ${cacheDir}`, context);
      return stored;
    },
    async close(): Promise<void> {
      const loaded = [...pipelines.values()];
      pipelines.clear();
      await Promise.all(
        loaded.map(async (entry) => {
          const pipe = await entry.pipe.catch(() => undefined);
          await pipe?.dispose?.();
        }),
      );
    },
  };
}
