import { readdirSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Llama, LlamaChat, LlamaContext, LlamaContextSequence, LlamaModel } from 'node-llama-cpp';

/**
 * One llama.cpp runtime and each model loaded once per process, shared by every stage and request:
 * loading a multi-gigabyte model per call would dominate the run time, and two copies would not fit.
 */
export interface LoadedModel {
  path: string;
  model: LlamaModel;
  context: LlamaContext;
  sequence: LlamaContextSequence;
  chat: LlamaChat;
  /** Calls take turns on the one context sequence; see `runExclusive`. */
  queue: Promise<unknown>;
}

export interface LoadModelOptions {
  threads: number;
  /** Upper bound for the context; the model's trained context is used when it is smaller. */
  maxContextTokens: number;
}

let runtime: Promise<Llama> | undefined;
const models = new Map<string, Promise<LoadedModel>>();

/**
 * CPU threads: half the logical cores (about the physical ones), at least one. llama.cpp's threads spin while
 * they wait for each other, so when they outnumber the cores that are free, generation collapses: on a busy
 * two-core machine two threads generated 4 tokens/s where one thread generated 270.
 */
export function defaultThreads(): number {
  return Math.max(1, Math.floor(availableParallelism() / 2));
}

async function getRuntime(threads: number): Promise<Llama> {
  runtime ??= (async () => {
    const { getLlama, LlamaLogLevel } = await import('node-llama-cpp');
    return getLlama({
      // A GPU build (CUDA, Vulkan, Metal) is used when one is installed and works; otherwise the CPU build.
      gpu: 'auto',
      // Building llama.cpp from source needs a compiler and the internet; the prebuilt binaries are enough.
      build: 'never',
      // The library's default thread count (at least 4) oversubscribes small machines by far.
      maxThreads: threads,
      logLevel: LlamaLogLevel.error,
      progressLogs: false,
    });
  })();
  try {
    return await runtime;
  } catch (error) {
    runtime = undefined;
    throw new Error(runtimeFailure(error));
  }
}

/** The prebuilt llama.cpp packages npm installed beside node-llama-cpp (`linux-x64`, `mac-arm64-metal`, ...). */
export function installedLlamaBuilds(): string[] {
  try {
    const entry = fileURLToPath(import.meta.resolve('node-llama-cpp'));
    const nodeModules = entry.slice(
      0,
      entry.lastIndexOf(join('node_modules', 'node-llama-cpp')) + 'node_modules'.length,
    );
    return readdirSync(join(nodeModules, '@node-llama-cpp')).sort();
  } catch {
    return [];
  }
}

/**
 * Why llama.cpp did not start, and what to do: the usual causes are a node_modules installed on another system
 * (or with --omit=optional), which lacks this platform's prebuilt package, and a CPU or C library too old for it.
 */
export function runtimeFailure(error: unknown, builds = installedLlamaBuilds()): string {
  const cause = error instanceof Error ? error.message : String(error);
  const platform = `${process.platform}-${process.arch}`;
  const found =
    builds.length > 0
      ? `installed builds: ${builds.join(', ')}`
      : 'no prebuilt llama.cpp package is installed (@node-llama-cpp/*)';
  return (
    `llama.cpp cannot start on this machine (${platform}; ${found}): ${cause}. ` +
    `Reinstall the dependencies here with npm install, which fetches the build for this platform ` +
    `(a node_modules copied from another system, or installed with --omit=optional, lacks it), ` +
    `or use an LLM server instead (JARVIS_LLM_BASE_URL).`
  );
}

/** The shared model at `path`, loading it (and the runtime) the first time. */
export function loadSharedModel(path: string, options: LoadModelOptions): Promise<LoadedModel> {
  let loaded = models.get(path);
  if (!loaded) {
    loaded = (async () => {
      const llama = await getRuntime(options.threads);
      const { LlamaChat } = await import('node-llama-cpp');
      const model = await llama.loadModel({ modelPath: path, gpuLayers: 'auto' });
      const context = await model.createContext({
        contextSize: { max: Math.min(model.trainContextSize, options.maxContextTokens) },
        threads: options.threads,
        sequences: 1,
      });
      const sequence = context.getSequence();
      const chat = new LlamaChat({ contextSequence: sequence, autoDisposeSequence: false });
      return { path, model, context, sequence, chat, queue: Promise.resolve() };
    })();
    models.set(path, loaded);
    // A failed load is not cached: the next call may succeed (a file that was being written, more memory).
    loaded.catch(() => models.delete(path));
  }
  return loaded;
}

/**
 * Runs `work` when the model's earlier calls have finished: the context has one sequence, and on a CPU
 * parallel generations would only split the same cores. Waiting ends early when `signal` aborts.
 */
export function runExclusive<T>(
  loaded: LoadedModel,
  work: () => Promise<T>,
  signal?: AbortSignal,
): Promise<T> {
  let cancelled = false;
  // The queue follows the work itself, not the caller: a caller that gives up early must not let the
  // next call start while this one's work (if it started) is still running.
  const turn = loaded.queue
    .catch(() => undefined)
    .then(() => {
      if (cancelled) throw signal?.reason;
      return work();
    });
  loaded.queue = turn.catch(() => undefined);
  if (!signal) return turn;
  return new Promise<T>((resolvePromise, rejectPromise) => {
    const onAbort = () => {
      cancelled = true;
      rejectPromise(signal.reason);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    turn.then(resolvePromise, rejectPromise).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** Frees every loaded model and the runtime, for tests and for a clean exit. */
export async function disposeEmbeddedModels(): Promise<void> {
  const loaded = [...models.values()];
  models.clear();
  for (const entry of loaded) {
    try {
      const model = await entry;
      await model.context.dispose();
      await model.model.dispose();
    } catch {
      // A model that failed to load has nothing to free.
    }
  }
  const current = runtime;
  runtime = undefined;
  if (current) await (await current.catch(() => undefined))?.dispose();
}
