import { mergeLayers } from '../config/load.js';
import { type ConfigLayer, configSchema, type JarvisConfig } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import type { Jarvis } from '../run/index.js';
import type { Store } from '../store/index.js';

/**
 * The settings a user may change from the web UI (the controller LLM and the inference mode). They are
 * saved in the database, applied over the configuration at the next start, and take effect for the next
 * run by building a fresh pipeline; runs already going keep the one they started with.
 */

export const INFERENCE_MODES = ['local', 'huggingface', 'hybrid'] as const;

export interface SettingsView {
  llm: { baseURL: string | null; model: string; apiKeySet: boolean };
  inference: { mode: JarvisConfig['inference']['mode'] };
}

export interface SettingsUpdate {
  llm?: { baseURL?: string | null; model?: string; apiKey?: string | null };
  inference?: { mode?: JarvisConfig['inference']['mode'] };
}

export interface SettingsController {
  view(): SettingsView;
  update(update: SettingsUpdate): Promise<SettingsView>;
  /** The pipeline new runs use. */
  jarvis(): Jarvis;
  /** Closes every pipeline this controller built. */
  close(): Promise<void>;
}

const SETTINGS_KEY = 'settings';

type StoredSettings = {
  llm?: { baseURL?: string | null; model?: string; apiKey?: string | null };
  inference?: { mode?: JarvisConfig['inference']['mode'] };
};

function applyStored(base: JarvisConfig, stored: StoredSettings): JarvisConfig {
  const layer: ConfigLayer = {};
  if (stored.llm) {
    const llm: Record<string, unknown> = {};
    if (stored.llm.baseURL !== undefined) llm.baseURL = stored.llm.baseURL ?? undefined;
    if (stored.llm.model !== undefined) llm.model = stored.llm.model;
    if (stored.llm.apiKey !== undefined) llm.apiKey = stored.llm.apiKey ?? undefined;
    layer.llm = llm as ConfigLayer['llm'];
  }
  if (stored.inference?.mode) layer.inference = { mode: stored.inference.mode };
  const merged = mergeLayers(base as ConfigLayer, layer) as Record<string, Record<string, unknown>>;
  // mergeLayers never lets undefined override, but clearing the endpoint or key must be possible.
  if (stored.llm?.baseURL === null && merged.llm) delete merged.llm.baseURL;
  if (stored.llm?.apiKey === null && merged.llm) delete merged.llm.apiKey;
  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    throw new InputError(
      `Invalid settings: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
    );
  }
  return { ...parsed.data, dataDir: base.dataDir };
}

export async function createSettingsController(options: {
  config: JarvisConfig;
  store: Store;
  /** A pipeline built by the caller (tests, the CLI); saved settings apply from the first change on. */
  jarvis?: Jarvis;
  createJarvis: (config: JarvisConfig) => Promise<Jarvis>;
}): Promise<SettingsController> {
  let stored = (await options.store.getSetting<StoredSettings>(SETTINGS_KEY)) ?? {};
  let config = options.jarvis ? options.jarvis.config : applyStored(options.config, stored);
  let current = options.jarvis ?? (await options.createJarvis(config));
  const built: Jarvis[] = options.jarvis ? [] : [current];

  const view = (): SettingsView => ({
    llm: {
      baseURL: config.llm.baseURL ?? null,
      model: config.llm.model,
      apiKeySet: Boolean(config.llm.apiKey),
    },
    inference: { mode: config.inference.mode },
  });

  return {
    view,
    jarvis: () => current,
    async update(update) {
      const next: StoredSettings = {
        llm: { ...stored.llm },
        inference: { ...stored.inference },
      };
      const llm = next.llm!;
      if (update.llm?.baseURL !== undefined) {
        const baseURL = update.llm.baseURL === '' ? null : update.llm.baseURL;
        if (baseURL !== null && !/^https?:\/\//i.test(baseURL)) {
          throw new InputError('The LLM endpoint must be an http:// or https:// URL.');
        }
        // A key is meant for one endpoint: sending it to a different one would hand it to whoever runs that.
        if (baseURL !== (config.llm.baseURL ?? null) && update.llm.apiKey === undefined) llm.apiKey = null;
        llm.baseURL = baseURL;
      }
      if (update.llm?.model !== undefined) llm.model = update.llm.model;
      if (update.llm?.apiKey !== undefined) llm.apiKey = update.llm.apiKey === '' ? null : update.llm.apiKey;
      if (update.inference?.mode !== undefined) next.inference!.mode = update.inference.mode;

      const nextConfig = applyStored(options.config, next);
      const jarvis = await options.createJarvis(nextConfig);
      await options.store.setSetting(SETTINGS_KEY, next);
      stored = next;
      config = nextConfig;
      current = jarvis;
      built.push(jarvis);
      return view();
    },
    async close() {
      await Promise.allSettled(built.map((jarvis) => jarvis.close()));
    },
  };
}
