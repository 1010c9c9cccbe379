import { existsSync, readdirSync } from 'node:fs';
import type { JarvisConfig } from '../../config/schema.js';
import { errorMessage } from '../../core/errors.js';
import type { ControllerModel } from '../../core/llm.js';
import { createEmbeddedController, trainedContextTokens } from './controller.js';
import {
  DEFAULT_LOCAL_MODEL,
  findCachedModel,
  isModelReference,
  modelCacheDir,
  resolveModelPath,
} from './model-file.js';
import { defaultThreads } from './runtime.js';

function hasAnyModelFile(dir: string): boolean {
  try {
    return existsSync(dir) && readdirSync(dir).some((name) => name.toLowerCase().endsWith('.gguf'));
  } catch {
    return false;
  }
}

function threadsFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const threads = Number(env.JARVIS_LLM_THREADS);
  return Number.isInteger(threads) && threads > 0 ? threads : undefined;
}

/** What `jarvis doctor` says about the embedded model; nothing is downloaded or loaded to find out. */
export interface EmbeddedModelStatus {
  /** The configured model, or the default reference when none is configured. */
  model: string;
  source: 'config' | 'default';
  /** The GGUF file, when it is on disk. */
  path?: string;
  /** The controller would run this model now (or download it first, when online and asked to). */
  ready: boolean;
  /** One line for a person: what runs, or why nothing does and what to do. */
  detail: string;
  cacheDir: string;
  threads: number;
  /** The context the controller would use: the model's trained context, capped by `llm.contextTokens`. */
  contextTokens?: number;
}

export async function inspectEmbeddedModel(
  config: JarvisConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EmbeddedModelStatus> {
  const cacheDir = modelCacheDir(config.inference.cacheDir, env);
  const threads = threadsFromEnv(env) ?? defaultThreads();
  const source = config.llm.localModel ? 'config' : 'default';
  const model = config.llm.localModel ?? DEFAULT_LOCAL_MODEL;
  const base = { model, source, cacheDir, threads } as const;
  let path: string | undefined;
  if (isModelReference(model)) {
    path = hasAnyModelFile(cacheDir) ? await findCachedModel(model, cacheDir) : undefined;
    if (!path) {
      if (source === 'default') {
        return { ...base, ready: false, detail: `no local model: ${model} is not in ${cacheDir}` };
      }
      return config.inference.offline
        ? { ...base, ready: false, detail: `${model} is not in ${cacheDir} and Jarvis is offline` }
        : { ...base, ready: true, detail: `${model} will be downloaded into ${cacheDir} on first use` };
    }
  } else {
    try {
      path = await resolveModelPath(model, { cacheDir, offline: true });
    } catch (error) {
      return { ...base, ready: false, detail: errorMessage(error) };
    }
  }
  try {
    const contextTokens = Math.min(await trainedContextTokens(path), config.llm.contextTokens);
    return {
      ...base,
      path,
      ready: true,
      contextTokens,
      detail: `embedded ${path} (context ${contextTokens} tokens, ${threads} CPU threads, GPU when available)`,
    };
  } catch (error) {
    return { ...base, path, ready: false, detail: errorMessage(error) };
  }
}

/**
 * The embedded controller the config asks for: `llm.localModel` when set (downloaded first when it is a
 * reference and Jarvis is online), else the default model when it is already in the cache, else undefined.
 * The default is never downloaded unasked: it is gigabytes, and every command creates a controller.
 * JARVIS_LLM_THREADS overrides the number of CPU threads.
 */
export async function createEmbeddedControllerFromConfig(
  config: JarvisConfig,
  options: { onProgress?: (message: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ControllerModel | undefined> {
  const cacheDir = modelCacheDir(config.inference.cacheDir, options.env);
  let model = config.llm.localModel;
  if (!model) {
    // Looking into the folder first spares loading node-llama-cpp (about half a second) when it is empty.
    if (!hasAnyModelFile(cacheDir)) return undefined;
    model = await findCachedModel(DEFAULT_LOCAL_MODEL, cacheDir);
    if (!model) return undefined;
  }
  const threads = threadsFromEnv(options.env);
  return createEmbeddedController({
    model,
    cacheDir,
    ...(threads ? { threads } : {}),
    offline: config.inference.offline,
    maxContextTokens: config.llm.contextTokens,
    temperature: config.llm.temperature,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
