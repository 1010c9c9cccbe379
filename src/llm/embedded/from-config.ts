import { existsSync, readdirSync } from 'node:fs';
import type { JarvisConfig } from '../../config/schema.js';
import { ConfigError, errorMessage } from '../../core/errors.js';
import type { ControllerModel } from '../../core/llm.js';
import {
  createDeferredEmbeddedController,
  createEmbeddedController,
  type EmbeddedControllerOptions,
  trainedContextTokens,
} from './controller.js';
import {
  DEFAULT_LOCAL_MODEL,
  DEFAULT_LOCAL_MODEL_SIZE,
  findCachedModel,
  isModelReference,
  modelCacheDir,
  noLocalModelMessage,
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

/**
 * Which embedded controller the config gives, and why, decided without the network and without loading a
 * model: the same answer for `jarvis doctor` and for the pipeline.
 *
 * - `local-file`: `llm.localModel` is a GGUF file.
 * - `local-reference`: `llm.localModel` is a reference (`hf:...`, a URL): from the cache, else downloaded on
 *   first use (asked for by name, so `llm.autoDownload` does not apply; offline it is an error).
 * - `default-cached`: nothing configured, and the default model is in the cache.
 * - `default-download`: nothing configured; the default model is downloaded on the first LLM call.
 * - `none`: nothing configured, the default is not cached, and it may not be downloaded (offline, or
 *   `llm.autoDownload` off).
 */
export type EmbeddedChoice =
  | { kind: 'local-file'; model: string }
  | { kind: 'local-reference'; model: string; path?: string }
  | { kind: 'default-cached'; model: string; path: string }
  | { kind: 'default-download'; model: string }
  | { kind: 'none'; model: string; reason: 'offline' | 'auto-download-off' };

export async function chooseEmbeddedModel(
  config: JarvisConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EmbeddedChoice> {
  const cacheDir = modelCacheDir(config.inference.cacheDir, env);
  const configured = config.llm.localModel;
  if (configured) {
    if (!isModelReference(configured)) return { kind: 'local-file', model: configured };
    // Looking into the folder first spares loading node-llama-cpp (about half a second) when it is empty.
    const path = hasAnyModelFile(cacheDir) ? await findCachedModel(configured, cacheDir) : undefined;
    return { kind: 'local-reference', model: configured, ...(path ? { path } : {}) };
  }
  const model = DEFAULT_LOCAL_MODEL;
  const path = hasAnyModelFile(cacheDir) ? await findCachedModel(model, cacheDir) : undefined;
  if (path) return { kind: 'default-cached', model, path };
  if (config.inference.offline) return { kind: 'none', model, reason: 'offline' };
  if (!config.llm.autoDownload) return { kind: 'none', model, reason: 'auto-download-off' };
  return { kind: 'default-download', model };
}

/** What `jarvis doctor` says about the embedded model; nothing is downloaded or loaded to find out. */
export interface EmbeddedModelStatus {
  choice: EmbeddedChoice['kind'];
  /** The configured model, or the default reference when none is configured. */
  model: string;
  source: 'config' | 'default';
  /** The GGUF file, when it is on disk. */
  path?: string;
  /** A controller exists: it runs this model now, or downloads it first on the first LLM call. */
  ready: boolean;
  /** One line for a person: which controller, and why; or why there is none and what to do. */
  detail: string;
  cacheDir: string;
  threads: number;
  /** The context the controller would use: the model's trained context, capped by `llm.contextTokens`. */
  contextTokens?: number;
}

/** Says which embedded controller will run and why, for `jarvis doctor`; touches neither network nor model. */
export async function inspectEmbeddedModel(
  config: JarvisConfig,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EmbeddedModelStatus> {
  const cacheDir = modelCacheDir(config.inference.cacheDir, env);
  const threads = threadsFromEnv(env) ?? defaultThreads();
  const choice = await chooseEmbeddedModel(config, env);
  const source = choice.kind === 'local-file' || choice.kind === 'local-reference' ? 'config' : 'default';
  const base = { choice: choice.kind, model: choice.model, source, cacheDir, threads } as const;
  const size = choice.model === DEFAULT_LOCAL_MODEL ? ` (${DEFAULT_LOCAL_MODEL_SIZE})` : '';
  let path: string;
  let why: string;
  switch (choice.kind) {
    case 'none':
      return {
        ...base,
        ready: false,
        detail:
          `none: no endpoint, no llm.localModel, and the default model ${choice.model} is not in ${cacheDir} ` +
          (choice.reason === 'offline'
            ? 'and Jarvis is offline (JARVIS_OFFLINE / --offline), so it will not be downloaded'
            : 'and automatic download is off (llm.autoDownload / JARVIS_LLM_AUTO_DOWNLOAD=0)'),
      };
    case 'default-download':
      return {
        ...base,
        ready: true,
        detail:
          `the default model ${choice.model}${size} will be downloaded into ${cacheDir} on the first LLM call ` +
          '(no endpoint or llm.localModel is set; llm.autoDownload=false or JARVIS_LLM_AUTO_DOWNLOAD=0 turns this off)',
      };
    case 'local-reference':
      if (!choice.path) {
        return config.inference.offline
          ? {
              ...base,
              ready: false,
              detail: `${choice.model} (llm.localModel) is not in ${cacheDir} and Jarvis is offline`,
            }
          : {
              ...base,
              ready: true,
              detail: `${choice.model} (llm.localModel) will be downloaded into ${cacheDir} on the first LLM call`,
            };
      }
      path = choice.path;
      why = `${choice.model} (llm.localModel), cached at`;
      break;
    case 'default-cached':
      path = choice.path;
      why = `the default model ${choice.model} (no endpoint or llm.localModel is set), cached at`;
      break;
    case 'local-file':
      try {
        path = await resolveModelPath(choice.model, { cacheDir, offline: true });
      } catch (error) {
        return { ...base, ready: false, detail: errorMessage(error) };
      }
      why = 'the GGUF file of llm.localModel,';
      break;
  }
  try {
    const contextTokens = Math.min(await trainedContextTokens(path), config.llm.contextTokens);
    return {
      ...base,
      path,
      ready: true,
      contextTokens,
      detail: `embedded: ${why} ${path} (context ${contextTokens} tokens, ${threads} CPU threads, GPU when available)`,
    };
  } catch (error) {
    return { ...base, path, ready: false, detail: errorMessage(error) };
  }
}

/** A short name for a reference before its file exists, like the name node-llama-cpp gives the file. */
function referenceId(model: string): string {
  const hub = /^(?:hf|huggingface):([^/]+)\/([^/:#]+?)(?:-GGUF)?(?::([^/#]+))?$/i.exec(model);
  if (hub) return `embedded:hf_${hub[1]}_${hub[2]}${hub[3] ? `.${hub[3].toUpperCase()}` : ''}`;
  return `embedded:${(model.split(/[/#?]/).filter(Boolean).at(-1) ?? model).replace(/\.gguf$/i, '')}`;
}

/**
 * The embedded controller the config asks for (see `chooseEmbeddedModel`), or undefined when there is none.
 * A model that must be downloaded first gives a controller that downloads on its first call. JARVIS_LLM_THREADS
 * overrides the number of CPU threads.
 */
export async function createEmbeddedControllerFromConfig(
  config: JarvisConfig,
  options: { onProgress?: (message: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<ControllerModel | undefined> {
  const cacheDir = modelCacheDir(config.inference.cacheDir, options.env);
  const choice = await chooseEmbeddedModel(config, options.env);
  if (choice.kind === 'none') return undefined;
  const threads = threadsFromEnv(options.env);
  const settings: EmbeddedControllerOptions = {
    model: choice.model,
    cacheDir,
    ...(threads ? { threads } : {}),
    offline: config.inference.offline,
    maxContextTokens: config.llm.contextTokens,
    temperature: config.llm.temperature,
    ...(config.inference.hubUrl ? { hubUrl: config.inference.hubUrl } : {}),
    ...(config.inference.hfToken ? { token: config.inference.hfToken } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  };
  if (choice.kind === 'default-download' || (choice.kind === 'local-reference' && !choice.path)) {
    // Asked for by name but impossible to get: an error now, not a silent "no controller".
    if (config.inference.offline) {
      throw new ConfigError(
        noLocalModelMessage(
          choice.model,
          cacheDir,
          `${choice.model} is not in the model cache and Jarvis is offline`,
        ),
      );
    }
    return createDeferredEmbeddedController({ ...settings, id: referenceId(choice.model) });
  }
  return createEmbeddedController(settings);
}
