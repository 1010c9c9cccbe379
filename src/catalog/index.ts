import { DOWNLOAD_ON_FIRST_USE, type InferenceBackend, type ModelCard, modelKey } from '../core/backend.js';
import { errorMessage, NoSuchModelError } from '../core/errors.js';
import type { TaskName } from '../core/tasks.js';
import type { CardAvailability } from './remote.js';

export { cardDescription, truncate } from './description.js';
export {
  CATALOG_FILE_SOURCE_ID,
  type CatalogFileSourceOptions,
  createCatalogFileSource,
} from './file-source.js';
export { createModelSources, inferenceCacheDir, type ModelSourcesOptions } from './from-config.js';
export { createHubSource, describeAge, HUB_SOURCE_ID, type HubSourceOptions } from './hub-source.js';
export {
  type CardAvailability,
  HF_INFERENCE_BACKEND_ID,
  HF_TOKEN_REASON,
  hfInferenceAvailability,
} from './remote.js';

/** What a source says about itself for `jarvis models`: where its cards come from and how fresh they are. */
export interface SourceStatus {
  source: string;
  message: string;
}

/** A place model cards come from besides the backends themselves (the Hub, a catalog file). */
export interface ModelSource {
  readonly id: string;
  list(task?: TaskName): Promise<ModelCard[]>;
  /** How the last listing went ("listed 3 hours ago", "offline: cache 2 days old"). */
  status?(): SourceStatus;
}

/**
 * A backend that can ask whether one model can run right now (HuggingGPT asks each endpoint's status).
 * Optional beside `InferenceBackend`: the catalog calls it for the candidates it is about to offer.
 */
export interface AvailabilityCheck {
  checkAvailability(model: { id: string; task: TaskName }, signal: AbortSignal): Promise<CardAvailability>;
}

export function hasAvailabilityCheck(backend: unknown): backend is AvailabilityCheck {
  return (
    typeof backend === 'object' &&
    backend !== null &&
    typeof (backend as Partial<AvailabilityCheck>).checkAvailability === 'function'
  );
}

export type InferenceMode = 'local' | 'huggingface' | 'hybrid';

export interface CatalogOptions {
  backends: readonly InferenceBackend[];
  sources?: readonly ModelSource[];
  mode?: InferenceMode;
  /** Time one availability check may take before the model counts as not responding (default 4 s). */
  availabilityTimeoutMs?: number;
  /** How long an availability answer is trusted (default 10 minutes). */
  availabilityTtlMs?: number;
  /**
   * How long one listing of the backends' and sources' cards is reused (default 1 s). Every request lists the
   * runnable tasks for its planner and the candidates of each planned task; under load that rebuilt every
   * card many times a second. A model installed or removed shows within this time (the transformers.js
   * backend rescans its folders every 2 s anyway); availability checks are applied fresh on every call.
   */
  listingTtlMs?: number;
  /** Hears about sources that failed; the other sources still answer. */
  onNotice?: (message: string) => void;
  now?: () => number;
}

export interface ListOptions {
  /**
   * Ask the backends whether the best-ranked models can run now (HuggingGPT's status check): `true`
   * checks the first 10 runnable candidates of each task, a number that many. Checks run in parallel,
   * each bounded by a timeout, and answers are cached.
   */
  checkAvailability?: boolean | number;
  signal?: AbortSignal;
}

export interface Catalog {
  readonly backends: ReadonlyMap<string, InferenceBackend>;
  /** Every model card, merged from backends and sources, ranked per task. */
  list(task?: TaskName, options?: ListOptions): Promise<ModelCard[]>;
  /** The top `topK` candidates for a task, best first, after checking that they can run now. */
  candidates(task: TaskName, topK: number): Promise<ModelCard[]>;
  /** The card registered as `backend:model`; NoSuchModelError lists what is available. */
  find(key: string, task?: TaskName): Promise<ModelCard>;
  /** What each source said about its last listing. */
  sourceStatus(): SourceStatus[];
  /**
   * The tasks some backend has a model for that can run now in this mode, from the backends' own cards only
   * (cheap: no source listing read from disk or the network), for the planner's task list on every request.
   */
  runnableTasks(): Promise<ReadonlySet<string>>;
}

/** Cards the mode allows: `local` keeps models that run on this machine, `huggingface` remote ones. */
function allowedByMode(card: ModelCard, mode: InferenceMode): boolean {
  // The inference mode picks between Hugging Face experts here and remote; the controller's own tasks and
  // the MCP servers the user configured are not such a choice.
  if (card.backend === 'llm' || card.backend === 'mcp') return true;
  if (mode === 'local') return card.local;
  if (mode === 'huggingface') return !card.local;
  return true;
}

/** Runnable first; in hybrid mode local before remote; then by downloads; then by id for stability. */
export function rankCards(cards: ModelCard[]): ModelCard[] {
  const ready = (card: ModelCard) => Number(!card.tags?.includes(DOWNLOAD_ON_FIRST_USE));
  return [...cards].sort(
    (a, b) =>
      Number(b.available) - Number(a.available) ||
      ready(b) - ready(a) ||
      Number(b.local) - Number(a.local) ||
      (b.downloads ?? 0) - (a.downloads ?? 0) ||
      modelKey(a).localeCompare(modelKey(b)),
  );
}

/**
 * A backend's own card knows whether the model runs here; a source's card knows what the model is
 * (card text, downloads, likes). Keep the first for state, fill in the second's facts.
 */
function mergeCards(first: ModelCard, second: ModelCard): ModelCard {
  return {
    ...first,
    description:
      first.description.length >= second.description.length ? first.description : second.description,
    ...(first.downloads === undefined && second.downloads !== undefined
      ? { downloads: second.downloads }
      : {}),
    ...(first.likes === undefined && second.likes !== undefined ? { likes: second.likes } : {}),
    ...(first.tags === undefined && second.tags !== undefined ? { tags: second.tags } : {}),
  };
}

export function createCatalog(options: CatalogOptions): Catalog {
  const mode = options.mode ?? 'hybrid';
  const backends = new Map(options.backends.map((backend) => [backend.id, backend]));
  const timeoutMs = options.availabilityTimeoutMs ?? 4_000;
  const ttlMs = options.availabilityTtlMs ?? 10 * 60 * 1000;
  const now = options.now ?? Date.now;
  const checked = new Map<string, { at: number; result: CardAvailability }>();
  const inFlight = new Map<string, Promise<CardAvailability>>();
  const listingTtlMs = options.listingTtlMs ?? 1_000;
  const listings = new Map<string, { at: number; value: Promise<unknown> }>();
  /** `work`'s answer, shared by every call within `listingTtlMs` of the first (and while it is pending). */
  function reused<T>(key: string, work: () => Promise<T>): Promise<T> {
    const entry = listings.get(key);
    if (entry && now() - entry.at < listingTtlMs) return entry.value as Promise<T>;
    const value = work();
    listings.set(key, { at: now(), value });
    return value;
  }

  const safely = async (what: string, work: () => Promise<ModelCard[]>): Promise<ModelCard[]> => {
    try {
      return await work();
    } catch (error) {
      options.onNotice?.(`${what} failed: ${errorMessage(error)}`);
      return [];
    }
  };

  function applyCachedCheck(card: ModelCard): ModelCard {
    const entry = checked.get(`${modelKey(card)}|${card.task}`);
    if (!entry || now() - entry.at > ttlMs || !card.available) return card;
    const { reason: _previous, ...rest } = card;
    return entry.result.available
      ? rest
      : { ...rest, available: false, reason: entry.result.reason ?? 'not available now' };
  }

  async function merged(task: TaskName | undefined): Promise<ModelCard[]> {
    return (await reused(`cards:${task ?? '*'}`, () => listed(task))).map(applyCachedCheck);
  }

  /** Every card of the backends and sources for `task` (or all), merged, as the mode allows. */
  async function listed(task: TaskName | undefined): Promise<ModelCard[]> {
    const backendLists = await Promise.all(
      options.backends
        .filter((backend) => task === undefined || backend.supports(task))
        .map((backend) => safely(`listing ${backend.id} models`, () => backend.listModels(task))),
    );
    const sourceLists = await Promise.all(
      (options.sources ?? []).map((source) => safely(`model source ${source.id}`, () => source.list(task))),
    );
    const cards = new Map<string, ModelCard>();
    const backendKeys = new Set(
      backendLists.flat().flatMap((card) => (card.available ? [`${modelKey(card)}|${card.task}`] : [])),
    );
    for (const card of backendLists.flat()) {
      if (task !== undefined && card.task !== task) continue;
      const key = `${modelKey(card)}|${card.task}`;
      const existing = cards.get(key);
      cards.set(key, existing ? mergeCards(existing, card) : card);
    }
    for (const card of sourceLists.flat()) {
      if (task !== undefined && card.task !== task) continue;
      const key = `${modelKey(card)}|${card.task}`;
      const existing = cards.get(key);
      if (existing) {
        cards.set(key, mergeCards(existing, card));
        continue;
      }
      const backend = backends.get(card.backend);
      if (backend && card.local && card.available && !backendKeys.has(`${modelKey(card)}|${card.task}`)) {
        // A local backend knows what is installed; a list naming a model it lacks cannot make it run.
        cards.set(key, {
          ...card,
          available: false,
          reason: `${card.backend} has no model ${card.id} installed`,
        });
      } else if (!backend && card.available) {
        cards.set(key, { ...card, available: false, reason: `backend "${card.backend}" is not enabled` });
      } else if (backend && !backend.supports(card.task) && card.available) {
        cards.set(key, {
          ...card,
          available: false,
          reason: `backend "${card.backend}" cannot run ${card.task}`,
        });
      } else {
        cards.set(key, card);
      }
    }
    return [...cards.values()].filter((card) => allowedByMode(card, mode));
  }

  function checkOne(
    card: ModelCard,
    check: AvailabilityCheck,
    signal?: AbortSignal,
  ): Promise<CardAvailability> {
    const key = `${modelKey(card)}|${card.task}`;
    const cached = checked.get(key);
    if (cached && now() - cached.at <= ttlMs) return Promise.resolve(cached.result);
    let pending = inFlight.get(key);
    if (!pending) {
      const timeout = AbortSignal.timeout(timeoutMs);
      const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
      pending = new Promise<CardAvailability>((resolve) => {
        const onAbort = (): void =>
          resolve({
            available: false,
            reason: timeout.aborted
              ? `status check did not answer within ${timeoutMs} ms`
              : 'status check was cancelled',
          });
        combined.addEventListener('abort', onAbort, { once: true });
        check.checkAvailability({ id: card.id, task: card.task }, combined).then(
          (result) => {
            combined.removeEventListener('abort', onAbort);
            checked.set(key, { at: now(), result });
            resolve(result);
          },
          (error: unknown) => {
            combined.removeEventListener('abort', onAbort);
            // A failed check is not cached: the network may be back on the next run.
            resolve({ available: false, reason: `status check failed: ${errorMessage(error)}` });
          },
        );
      }).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    return pending;
  }

  async function checkCards(cards: ModelCard[], signal?: AbortSignal): Promise<ModelCard[]> {
    return Promise.all(
      cards.map(async (card) => {
        const backend = backends.get(card.backend);
        if (!card.available || !hasAvailabilityCheck(backend)) return card;
        const result = await checkOne(card, backend, signal);
        const { reason: _previous, ...rest } = card;
        return result.available
          ? rest
          : { ...rest, available: false, reason: result.reason ?? 'not available now' };
      }),
    );
  }

  /** Checks the first `count` runnable cards of each task that a backend can check; the rest keep their state. */
  async function checkHead(ranked: ModelCard[], count: number, signal?: AbortSignal): Promise<ModelCard[]> {
    const taken = new Map<string, number>();
    const chosen = new Set<ModelCard>();
    for (const card of ranked) {
      if (!card.available || !hasAvailabilityCheck(backends.get(card.backend))) continue;
      const used = taken.get(card.task) ?? 0;
      if (used >= count) continue;
      taken.set(card.task, used + 1);
      chosen.add(card);
    }
    const checkedCards = await checkCards([...chosen], signal);
    const replaced = new Map([...chosen].map((card, index) => [card, checkedCards[index] as ModelCard]));
    return rankCards(ranked.map((card) => replaced.get(card) ?? card));
  }

  async function list(task?: TaskName, listOptions: ListOptions = {}): Promise<ModelCard[]> {
    const ranked = rankCards(await merged(task));
    const check = listOptions.checkAvailability;
    if (!check) return ranked;
    return checkHead(ranked, check === true ? 10 : Math.max(0, Math.floor(check)), listOptions.signal);
  }

  return {
    backends,
    list,
    async candidates(task, topK) {
      // Check a few more than needed so that models found down still leave topK runnable ones.
      return (await list(task, { checkAvailability: Math.max(topK * 2, topK + 3) })).slice(0, topK);
    },
    async find(key, task) {
      const cards = await list(task);
      const found = cards.find((card) => modelKey(card) === key || card.id === key);
      if (!found) throw new NoSuchModelError(key, cards.map(modelKey), task ? { task } : {});
      return found;
    },
    sourceStatus() {
      return (options.sources ?? []).flatMap((source) => (source.status ? [source.status()] : []));
    },
    runnableTasks() {
      return reused('runnable-tasks', async () => {
        const lists = await Promise.all(
          options.backends.map((backend) =>
            safely(`listing ${backend.id} models`, () => backend.listModels()),
          ),
        );
        return new Set(
          lists.flat().flatMap((card) => (card.available && allowedByMode(card, mode) ? [card.task] : [])),
        );
      });
    },
  };
}
