import { mergeLayers } from '../config/load.js';
import { type ConfigLayer, configSchema, type JarvisConfig } from '../config/schema.js';
import { InputError, JarvisError } from '../core/errors.js';
import type { Jarvis } from '../run/index.js';
import type { Store } from '../store/index.js';

/**
 * The settings a user may change from the web UI (the controller LLM and the inference mode). They are
 * saved in the database, applied over the configuration file at the next start, and take effect for the next
 * run by building a fresh pipeline; runs already going keep the one they started with.
 *
 * What the server's environment and command-line flags set wins over them, at every start: whoever deploys
 * the server with `JARVIS_LLM_MODEL=…` must get that model, not one a UI user picked weeks ago. Those fields
 * are "locked": the view names them, and changing them from Settings is refused with where to change them.
 */

export const INFERENCE_MODES = ['local', 'huggingface', 'hybrid'] as const;

export type SettingField = 'llm.baseURL' | 'llm.model' | 'llm.apiKey' | 'inference.mode';

/** Where a locked field is set, for messages. */
const SET_BY: Record<SettingField, string> = {
  'llm.baseURL': 'JARVIS_LLM_BASE_URL / --base-url (or JARVIS_LOCAL_MODEL)',
  'llm.model': 'JARVIS_LLM_MODEL / --model',
  'llm.apiKey': 'JARVIS_LLM_API_KEY or OPENAI_API_KEY / --api-key',
  'inference.mode': 'JARVIS_INFERENCE_MODE / --mode',
};

/**
 * The fields the environment and flags set. The endpoint and its key go together: a key set at startup must
 * not follow an endpoint chosen in Settings, nor a key saved in Settings go to an endpoint set at startup.
 */
export function lockedFields(explicit: ConfigLayer | undefined): SettingField[] {
  if (!explicit) return [];
  const locked: SettingField[] = [];
  const llm = explicit.llm ?? {};
  if (llm.baseURL !== undefined || llm.apiKey !== undefined || llm.localModel !== undefined) {
    locked.push('llm.baseURL', 'llm.apiKey');
  }
  if (llm.model !== undefined) locked.push('llm.model');
  if (explicit.inference?.mode !== undefined) locked.push('inference.mode');
  return locked;
}

export interface SettingsView {
  llm: { baseURL: string | null; model: string; apiKeySet: boolean };
  inference: { mode: JarvisConfig['inference']['mode'] };
  /**
   * Fields set by the server's environment or command-line flags: they win over Settings at every start, so
   * Settings cannot change them.
   */
  locked: SettingField[];
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

/** A change to a setting that the environment or flags fix; the message says where to change it. */
export class SettingLockedError extends JarvisError {
  constructor(message: string) {
    super('setting-locked', message);
  }
}

type StoredSettings = {
  llm?: { baseURL?: string | null; model?: string; apiKey?: string | null };
  inference?: { mode?: JarvisConfig['inference']['mode'] };
};

/** The saved settings without the fields the environment and flags set (they stay saved for later starts). */
function withoutLocked(stored: StoredSettings, locked: readonly SettingField[]): StoredSettings {
  const llm = { ...stored.llm };
  if (locked.includes('llm.baseURL')) delete llm.baseURL;
  if (locked.includes('llm.apiKey')) delete llm.apiKey;
  if (locked.includes('llm.model')) delete llm.model;
  const inference = { ...stored.inference };
  if (locked.includes('inference.mode')) delete inference.mode;
  return { llm, inference };
}

/** The saved values that the environment or flags override at this start, as `field (saved value)`. */
function overridden(stored: StoredSettings, locked: readonly SettingField[]): string[] {
  const saved: [SettingField, unknown][] = [
    ['llm.baseURL', stored.llm?.baseURL],
    ['llm.model', stored.llm?.model],
    ['llm.apiKey', stored.llm?.apiKey === undefined ? undefined : '(a key)'],
    ['inference.mode', stored.inference?.mode],
  ];
  return saved
    .filter(([field, value]) => value !== undefined && locked.includes(field))
    .map(([field, value]) => `${field} = ${value === null ? 'none' : String(value)}`);
}

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
  /** What the environment and flags set (already merged into `config`): it wins over saved settings. */
  explicit?: ConfigLayer;
  /** Told once at start which saved settings the environment or flags override (default: stderr). */
  onNotice?: (message: string) => void;
}): Promise<SettingsController> {
  const locked = lockedFields(options.explicit);
  let stored = (await options.store.getSetting<StoredSettings>(SETTINGS_KEY)) ?? {};
  const ignored = overridden(stored, locked);
  if (ignored.length > 0) {
    const notice = options.onNotice ?? ((message) => process.stderr.write(`${message}\n`));
    notice(
      `jarvis serve: not using settings saved in the web UI that the environment or command-line flags override (${ignored.join(', ')}); ` +
        'they apply again once the environment and flags no longer set them.',
    );
  }
  const apply = (settings: StoredSettings) => applyStored(options.config, withoutLocked(settings, locked));
  let config = options.jarvis ? options.jarvis.config : apply(stored);
  let current = options.jarvis ?? (await options.createJarvis(config));
  const built: Jarvis[] = options.jarvis ? [] : [current];

  const view = (): SettingsView => ({
    llm: {
      baseURL: config.llm.baseURL ?? null,
      model: config.llm.model,
      apiKeySet: Boolean(config.llm.apiKey),
    },
    inference: { mode: config.inference.mode },
    locked: [...locked],
  });

  const refuseLocked = (update: SettingsUpdate) => {
    const touched: SettingField[] = [];
    if (update.llm?.baseURL !== undefined && (update.llm.baseURL || null) !== (config.llm.baseURL ?? null)) {
      touched.push('llm.baseURL');
    }
    if (update.llm?.apiKey !== undefined) touched.push('llm.apiKey');
    if (update.llm?.model !== undefined && update.llm.model !== config.llm.model) touched.push('llm.model');
    if (update.inference?.mode !== undefined && update.inference.mode !== config.inference.mode) {
      touched.push('inference.mode');
    }
    const refused = touched.filter((field) => locked.includes(field));
    if (refused.length > 0) {
      throw new SettingLockedError(
        `${refused.join(', ')} ${refused.length === 1 ? 'is' : 'are'} set by the server's environment or command-line flags (${refused.map((field) => SET_BY[field]).join('; ')}), which win over Settings at every start: change ${refused.length === 1 ? 'it' : 'them'} there and restart the server.`,
      );
    }
  };

  return {
    view,
    jarvis: () => current,
    async update(update) {
      refuseLocked(update);
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

      const nextConfig = apply(next);
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
