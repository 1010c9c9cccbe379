import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, errorMessage } from '../../core/errors.js';

/**
 * The model used when `llm.localModel` is not set: Qwen3-4B-Instruct-2507 (Apache-2.0), Q4_K_M, about
 * 2.5 GB. Among models that fit a laptop it follows long instructions and JSON formats well, and it is not
 * a "thinking" model, so every token goes to the answer.
 */
export const DEFAULT_LOCAL_MODEL = 'hf:unsloth/Qwen3-4B-Instruct-2507-GGUF:Q4_K_M';

/**
 * Where downloaded GGUF files live: `<inference.cacheDir>/gguf`, else `~/.cache/jarvis/gguf` (honouring
 * XDG_CACHE_HOME) rather than the per-project data folder, so that a model of gigabytes is downloaded once
 * per user, not once per working directory.
 */
export function modelCacheDir(cacheDir: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const base = cacheDir ?? join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'jarvis');
  return join(base, 'gguf');
}

/** A model reference node-llama-cpp can download: `hf:owner/repo:quant`, `hf:owner/repo/file.gguf`, a URL. */
export function isModelReference(model: string): boolean {
  return /^(hf:|huggingface:|https?:\/\/)/i.test(model);
}

/** The one message for "no controller": the three ways forward. */
export function noLocalModelMessage(model: string, cacheDir: string, reason: string): string {
  return (
    `No controller LLM: ${reason}. Either (1) point Jarvis at an OpenAI-compatible endpoint with ` +
    'JARVIS_LLM_BASE_URL (plus JARVIS_LLM_API_KEY and JARVIS_LLM_MODEL), or (2) set JARVIS_LOCAL_MODEL to a ' +
    `GGUF file on disk, or (3) go online once without JARVIS_OFFLINE so that ${model} is downloaded into ` +
    `${cacheDir}.`
  );
}

export interface ResolveModelOptions {
  cacheDir: string;
  offline?: boolean;
  /** Resolve relative file paths from here; the working directory by default. */
  cwd?: string;
  onProgress?: (message: string) => void;
  signal?: AbortSignal;
}

function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * The GGUF file for a model: a path as it is, a reference found in the cache, or (online) a reference
 * downloaded once into the cache, reporting progress. Throws a ConfigError that names the ways forward.
 */
export async function resolveModelPath(model: string, options: ResolveModelOptions): Promise<string> {
  if (!isModelReference(model)) {
    const path = resolve(options.cwd ?? process.cwd(), model);
    if (existsSync(path) && statSync(path).isFile()) return path;
    throw new ConfigError(
      `The local model file ${path} does not exist. Set JARVIS_LOCAL_MODEL to a GGUF file, or to a model reference ` +
        `such as ${DEFAULT_LOCAL_MODEL} to download one.`,
    );
  }
  const { resolveModelFile } = await import('node-llama-cpp');
  try {
    return await resolveModelFile(model, { directory: options.cacheDir, download: false, cli: false });
  } catch (error) {
    if (options.offline) {
      throw new ConfigError(
        noLocalModelMessage(
          model,
          options.cacheDir,
          `${model} is not in the model cache and Jarvis is offline`,
        ),
      );
    }
    if (!/download is disabled/i.test(errorMessage(error))) throw error;
  }
  options.onProgress?.(`Downloading ${model} into ${options.cacheDir} (once)`);
  // On a terminal node-llama-cpp draws its own progress bar; elsewhere (server, logs) a line now and then.
  const terminal = process.stderr.isTTY === true;
  let lastReport = 0;
  let lastPercent = -1;
  try {
    return await resolveModelFile(model, {
      directory: options.cacheDir,
      download: 'auto',
      cli: terminal,
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: ({ totalSize, downloadedSize }) => {
        if (terminal || !options.onProgress) return;
        const percent = totalSize > 0 ? Math.floor((downloadedSize / totalSize) * 100) : 0;
        const now = Date.now();
        if (percent === lastPercent || (now - lastReport < 2000 && percent < 100)) return;
        lastReport = now;
        lastPercent = percent;
        options.onProgress(
          `Downloading ${model}: ${percent}% (${formatBytes(downloadedSize)} of ${formatBytes(totalSize)})`,
        );
      },
    });
  } catch (error) {
    throw new ConfigError(
      noLocalModelMessage(model, options.cacheDir, `downloading ${model} failed (${errorMessage(error)})`),
    );
  }
}

/** The cached file of a model reference, or undefined; never downloads and never touches the network. */
export async function findCachedModel(model: string, cacheDir: string): Promise<string | undefined> {
  if (!isModelReference(model)) return undefined;
  try {
    const { resolveModelFile } = await import('node-llama-cpp');
    return await resolveModelFile(model, { directory: cacheDir, download: false, cli: false });
  } catch {
    return undefined;
  }
}
