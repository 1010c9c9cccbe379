import { existsSync, readdirSync } from 'node:fs';
import type { JarvisConfig } from '../../config/schema.js';
import type { ControllerModel } from '../../core/llm.js';
import { createEmbeddedController } from './controller.js';
import { DEFAULT_LOCAL_MODEL, findCachedModel, modelCacheDir } from './model-file.js';

function hasAnyModelFile(dir: string): boolean {
  try {
    return existsSync(dir) && readdirSync(dir).some((name) => name.toLowerCase().endsWith('.gguf'));
  } catch {
    return false;
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
  const threads = Number((options.env ?? process.env).JARVIS_LLM_THREADS);
  return createEmbeddedController({
    model,
    cacheDir,
    ...(Number.isInteger(threads) && threads > 0 ? { threads } : {}),
    offline: config.inference.offline,
    maxContextTokens: config.llm.contextTokens,
    temperature: config.llm.temperature,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
}
