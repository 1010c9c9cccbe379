import { resolve } from 'node:path';
import { mergeLayers } from '../config/load.js';
import { type ConfigLayer, configSchema, type JarvisConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';

/** Settings as a program writes them: every field optional, the defaults fill in the rest. */
export type JarvisConfigInput = ConfigLayer;

/** Types a settings object without changing it, so an editor checks it (as vite's `defineConfig` does). */
export function defineConfig(config: JarvisConfigInput): JarvisConfigInput {
  return config;
}

export interface ResolveConfigOptions {
  /** A relative `dataDir` is taken from here (default: process.cwd()). */
  cwd?: string;
}

/**
 * The defaults with `config` over them, validated. Unlike `loadConfig`, it reads no config file and no
 * environment: a program that embeds Jarvis says what it wants, and the user's shell cannot change it.
 */
export function resolveConfig(
  config: JarvisConfigInput = {},
  options: ResolveConfigOptions = {},
): JarvisConfig {
  const parsed = configSchema.safeParse(mergeLayers(config));
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConfigError(`Invalid configuration: ${problems.join('; ')}`);
  }
  const resolved = parsed.data;
  resolved.dataDir = resolve(options.cwd ?? process.cwd(), resolved.dataDir);
  return resolved;
}
