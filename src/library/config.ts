import { resolve } from 'node:path';
import { mergeLayers, parseConfig } from '../config/load.js';
import type { ConfigLayer, JarvisConfig } from '../config/schema.js';

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
  const resolved = parseConfig(mergeLayers(config), 'the settings given to createJarvis');
  resolved.dataDir = resolve(options.cwd ?? process.cwd(), resolved.dataDir);
  return resolved;
}
