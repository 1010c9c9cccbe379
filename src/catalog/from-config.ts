import { join } from 'node:path';
import type { JarvisConfig } from '../config/schema.js';
import { createCatalogFileSource } from './file-source.js';
import { createHubSource } from './hub-source.js';
import type { ModelSource } from './index.js';

/** Where downloaded models and the Hub catalog live: `inference.cacheDir`, else `<dataDir>/cache`. */
export function inferenceCacheDir(config: Pick<JarvisConfig, 'inference' | 'dataDir'>): string {
  return config.inference.cacheDir ?? join(config.dataDir, 'cache');
}

export interface ModelSourcesOptions {
  /** Hears "offline: cache 2 days old", "Hub unreachable and nothing cached" once each. */
  onNotice?: (message: string) => void;
  /** Hub API base (tests); https://huggingface.co by default. */
  hubUrl?: string;
  fetch?: typeof fetch;
}

/**
 * The model sources the configuration asks for: the catalog file (`inference.catalogFile` /
 * `JARVIS_CATALOG`) when set, and the Hub's most downloaded models unless the mode is `local` (whose
 * selection would drop remote models anyway).
 */
export function createModelSources(
  config: Pick<JarvisConfig, 'inference' | 'dataDir' | 'select'>,
  options: ModelSourcesOptions = {},
): ModelSource[] {
  const { inference } = config;
  const sources: ModelSource[] = [];
  const token = inference.hfToken;
  if (inference.catalogFile) {
    sources.push(
      createCatalogFileSource(inference.catalogFile, {
        ...(token ? { hfToken: token } : {}),
        descriptionChars: Math.max(config.select.descriptionChars, 300),
      }),
    );
  }
  if (inference.mode !== 'local') {
    sources.push(
      createHubSource({
        cacheDir: inferenceCacheDir(config),
        offline: inference.offline,
        ...(token ? { token } : {}),
        ...((options.hubUrl ?? inference.hubUrl) ? { hubUrl: options.hubUrl ?? inference.hubUrl } : {}),
        ...(options.fetch ? { fetch: options.fetch } : {}),
        ...(options.onNotice ? { onNotice: options.onNotice } : {}),
      }),
    );
  }
  return sources;
}
