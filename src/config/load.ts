import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { shownPath } from '../core/paths.js';
import { isRecord } from '../core/records.js';
import { configProblems } from './problems.js';
import { type ConfigLayer, configSchema, type JarvisConfig } from './schema.js';

export const CONFIG_FILE_NAMES = ['jarvis.config.json', '.jarvisrc.json'];

/** The config file to read: an explicit path, JARVIS_CONFIG, the working directory, then ~/.config/jarvis. */
export function findConfigFile(cwd: string, env: NodeJS.ProcessEnv, explicit?: string): string | undefined {
  const wanted = explicit ?? env.JARVIS_CONFIG;
  if (wanted) {
    const path = resolve(cwd, wanted);
    if (!existsSync(path)) throw new ConfigError(`Config file not found: ${path}`);
    return path;
  }
  const candidates = [
    ...CONFIG_FILE_NAMES.map((name) => join(cwd, name)),
    join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'jarvis', 'config.json'),
  ];
  return candidates.find((path) => existsSync(path));
}

function readConfigFile(path: string): ConfigLayer {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as ConfigLayer;
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
}

const truthy = (value: string | undefined): boolean | undefined =>
  value === undefined || value === '' ? undefined : /^(1|true|yes|on)$/i.test(value);

const integer = (name: string, value: string | undefined): number | undefined => {
  if (value === undefined || value === '') return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) throw new ConfigError(`${name} must be an integer, got "${value}"`);
  return parsed;
};

/** The settings the environment gives. */
export function configFromEnv(env: NodeJS.ProcessEnv): ConfigLayer {
  const mode = env.JARVIS_INFERENCE_MODE || undefined;
  if (mode !== undefined && mode !== 'local' && mode !== 'huggingface' && mode !== 'hybrid') {
    throw new ConfigError(`JARVIS_INFERENCE_MODE must be local, huggingface or hybrid, got "${mode}"`);
  }
  return {
    llm: {
      baseURL: env.JARVIS_LLM_BASE_URL || env.OPENAI_BASE_URL || undefined,
      apiKey: env.JARVIS_LLM_API_KEY || env.OPENAI_API_KEY || undefined,
      model: env.JARVIS_LLM_MODEL || undefined,
      contextTokens: integer('JARVIS_LLM_CONTEXT_TOKENS', env.JARVIS_LLM_CONTEXT_TOKENS),
      timeoutMs: integer('JARVIS_LLM_TIMEOUT_MS', env.JARVIS_LLM_TIMEOUT_MS),
      maxRetries: integer('JARVIS_LLM_MAX_RETRIES', env.JARVIS_LLM_MAX_RETRIES),
      localModel: env.JARVIS_LOCAL_MODEL || undefined,
      autoDownload: truthy(env.JARVIS_LLM_AUTO_DOWNLOAD),
    },
    inference: {
      mode,
      hfToken: env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined,
      catalogFile: env.JARVIS_CATALOG || undefined,
      offline: truthy(env.JARVIS_OFFLINE) ?? (truthy(env.HF_HUB_OFFLINE) || undefined),
      cacheDir: env.JARVIS_CACHE_DIR || undefined,
      hubUrl: env.HF_ENDPOINT || undefined,
    },
    experts: { workers: integer('JARVIS_EXPERT_WORKERS', env.JARVIS_EXPERT_WORKERS) },
    dataDir: env.JARVIS_DATA_DIR || undefined,
    server: {
      apiKey: env.JARVIS_API_KEY || undefined,
      port: integer('JARVIS_PORT', env.JARVIS_PORT),
      host: env.JARVIS_HOST || undefined,
      database: env.JARVIS_DATABASE || undefined,
    },
    queue: { url: env.JARVIS_QUEUE_URL || undefined },
  };
}

/** Merges layers left to right; undefined never overrides a value. */
export function mergeLayers(...layers: ConfigLayer[]): ConfigLayer {
  const out: Record<string, unknown> = {};
  for (const layer of layers) {
    for (const [key, value] of Object.entries(layer)) {
      if (value === undefined) continue;
      if (isRecord(value)) {
        const previous = isRecord(out[key]) ? (out[key] as Record<string, unknown>) : {};
        const merged = { ...previous };
        for (const [inner, innerValue] of Object.entries(value)) {
          if (innerValue !== undefined) merged[inner] = innerValue;
        }
        out[key] = merged;
      } else {
        out[key] = value;
      }
    }
  }
  return out as ConfigLayer;
}

export interface LoadConfigOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  /** Settings from command-line flags: the last word. */
  flags?: ConfigLayer;
}

export interface LoadedConfig {
  config: JarvisConfig;
  /** The config file that was read, if any. */
  file?: string;
}

/**
 * Validates merged settings against the schema: defaults filled in, and a ConfigError that says what is wrong
 * where (`source`, e.g. the config file) — an unknown key with the key probably meant. `dataDir` stays as given.
 */
export function parseConfig(layer: unknown, source?: string): JarvisConfig {
  const parsed = configSchema.safeParse(layer);
  if (!parsed.success) throw new ConfigError(configProblems(configSchema, parsed.error, source).join('; '));
  return parsed.data;
}

/** How a config file is named in messages: relative to the working directory when inside it. */
function displayPath(file: string, cwd: string): string {
  return shownPath(file, [cwd]);
}

export function loadConfig(options: LoadConfigOptions = {}): LoadedConfig {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const file = findConfigFile(cwd, env, options.configFile);
  const merged = mergeLayers(file ? readConfigFile(file) : {}, configFromEnv(env), options.flags ?? {});
  // The environment and flags only ever set known keys: an unknown one comes from the file.
  const config = parseConfig(merged, file ? displayPath(file, cwd) : undefined);
  config.dataDir = resolve(cwd, config.dataDir);
  return file ? { config, file } : { config };
}
