import { type InferenceBackend, type ModelCard, modelKey } from '../core/backend.js';
import { NoSuchModelError } from '../core/errors.js';
import type { TaskName } from '../core/tasks.js';

/** A place model cards come from besides the backends themselves (the Hub, a catalog file). */
export interface ModelSource {
  readonly id: string;
  list(task?: TaskName): Promise<ModelCard[]>;
}

export type InferenceMode = 'local' | 'huggingface' | 'hybrid';

export interface CatalogOptions {
  backends: readonly InferenceBackend[];
  sources?: readonly ModelSource[];
  mode?: InferenceMode;
}

export interface Catalog {
  readonly backends: ReadonlyMap<string, InferenceBackend>;
  /** Every model card, merged from backends and sources, ranked per task. */
  list(task?: TaskName): Promise<ModelCard[]>;
  /** The top `topK` candidates for a task, best first. */
  candidates(task: TaskName, topK: number): Promise<ModelCard[]>;
  /** The card registered as `backend:model`; NoSuchModelError lists what is available. */
  find(key: string, task?: TaskName): Promise<ModelCard>;
}

/** Cards the mode allows: `local` keeps models that run on this machine, `huggingface` remote ones. */
function allowedByMode(card: ModelCard, mode: InferenceMode): boolean {
  if (card.backend === 'llm') return true;
  if (mode === 'local') return card.local;
  if (mode === 'huggingface') return !card.local;
  return true;
}

/** Runnable first; in hybrid mode local before remote; then by downloads; then by id for stability. */
export function rankCards(cards: ModelCard[]): ModelCard[] {
  return [...cards].sort(
    (a, b) =>
      Number(b.available) - Number(a.available) ||
      Number(b.local) - Number(a.local) ||
      (b.downloads ?? 0) - (a.downloads ?? 0) ||
      modelKey(a).localeCompare(modelKey(b)),
  );
}

export function createCatalog(options: CatalogOptions): Catalog {
  const mode = options.mode ?? 'hybrid';
  const backends = new Map(options.backends.map((backend) => [backend.id, backend]));

  async function list(task?: TaskName): Promise<ModelCard[]> {
    const lists = await Promise.all([
      ...options.backends
        .filter((backend) => task === undefined || backend.supports(task))
        .map((backend) => backend.listModels(task)),
      ...(options.sources ?? []).map((source) => source.list(task)),
    ]);
    const merged = new Map<string, ModelCard>();
    for (const card of lists.flat()) {
      if (task !== undefined && card.task !== task) continue;
      if (!allowedByMode(card, mode)) continue;
      const key = `${modelKey(card)}|${card.task}`;
      if (!merged.has(key)) merged.set(key, card);
    }
    return rankCards([...merged.values()]);
  }

  return {
    backends,
    list,
    async candidates(task, topK) {
      return (await list(task)).slice(0, topK);
    },
    async find(key, task) {
      const cards = await list(task);
      const found = cards.find((card) => modelKey(card) === key || card.id === key);
      if (!found) throw new NoSuchModelError(key, cards.map(modelKey), task ? { task } : {});
      return found;
    },
  };
}
