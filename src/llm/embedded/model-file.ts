import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { checkCachedModelFile, DownloadUnavailableError, downloadModel } from './download.js';

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

/** About how big the default model is, for messages that must not ask the network (doctor, errors). */
export const DEFAULT_LOCAL_MODEL_SIZE = 'about 2.5 GB';

/** The one message for "no controller": the three ways forward. */
export function noLocalModelMessage(model: string, cacheDir: string, reason: string): string {
  const size = model === DEFAULT_LOCAL_MODEL ? ` (${DEFAULT_LOCAL_MODEL_SIZE})` : '';
  return (
    `No controller LLM: ${reason}. Either (1) point Jarvis at an OpenAI-compatible endpoint with ` +
    'JARVIS_LLM_BASE_URL (plus JARVIS_LLM_API_KEY and JARVIS_LLM_MODEL), or (2) set JARVIS_LOCAL_MODEL to a ' +
    `GGUF file on disk, or (3) let Jarvis download ${model}${size} into ${cacheDir} once: with the Hub ` +
    'reachable and without JARVIS_OFFLINE=1 (or --offline).'
  );
}

export interface ResolveModelOptions {
  cacheDir: string;
  offline?: boolean;
  /** Resolve relative file paths from here; the working directory by default. */
  cwd?: string;
  onProgress?: (message: string) => void;
  /** Stops waiting for a download (which continues while another caller waits, and resumes next time). */
  signal?: AbortSignal;
  /** The Hub or a mirror (`inference.hubUrl`, HF_ENDPOINT); https://huggingface.co by default. */
  hubUrl?: string;
  token?: string;
}

/**
 * The GGUF file for a model: a path as it is, a reference found in the cache, or (online) a reference
 * downloaded once into the cache, announced with its size, reporting progress, and checked against the size
 * and sha256 the Hub gives. Throws a ConfigError that names the ways forward.
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
  const cached = await findCachedModel(model, options.cacheDir);
  if (cached) return checkCachedModelFile(cached, options.signal);
  if (options.offline) {
    throw new ConfigError(
      noLocalModelMessage(
        model,
        options.cacheDir,
        `${model} is not in the model cache and Jarvis is offline`,
      ),
    );
  }
  try {
    return await downloadModel(model, {
      cacheDir: options.cacheDir,
      ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
      ...(options.token ? { token: options.token } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (error instanceof DownloadUnavailableError) {
      throw new ConfigError(noLocalModelMessage(model, options.cacheDir, error.message), { model });
    }
    throw error;
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
