import { readFile, stat } from 'node:fs/promises';
import type { ModelCard } from '../core/backend.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import { isTaskName, type TaskName } from '../core/tasks.js';
import { cardDescription } from './description.js';
import type { ModelSource, SourceStatus } from './index.js';
import { type CardAvailability, HF_INFERENCE_BACKEND_ID, hfInferenceAvailability } from './remote.js';

export const CATALOG_FILE_SOURCE_ID = 'catalog-file';

export interface CatalogFileSourceOptions {
  /** Backend that runs the listed models unless a line names its own (`"backend": "transformers"`). */
  backend?: string;
  /** Hugging Face token: models run through Inference Providers are available only with one. */
  hfToken?: string;
  /** Availability of cards for `backend`; derived from `hfToken` for hf-inference when not given. */
  availability?: CardAvailability;
  descriptionChars?: number;
}

/** One line of HuggingGPT's p0_models.jsonl (plus an optional `backend`). */
interface CatalogLine {
  id?: unknown;
  task?: unknown;
  pipeline_tag?: unknown;
  downloads?: unknown;
  likes?: unknown;
  description?: unknown;
  backend?: unknown;
  meta?: { tags?: unknown; language?: unknown; license?: unknown } | null;
}

const numberOrUndefined = (value: unknown): number | undefined =>
  typeof value === 'number' && Number.isFinite(value) ? value : undefined;

function tagsOf(line: CatalogLine): string[] | undefined {
  const tags = line.meta?.tags;
  if (!Array.isArray(tags)) return undefined;
  const strings = tags.filter((tag): tag is string => typeof tag === 'string');
  return strings.length > 0 ? strings : undefined;
}

/**
 * One JSON line. HuggingGPT's file was written by Python, whose json module writes NaN and Infinity for
 * missing evaluation numbers; those become null rather than costing the whole line.
 */
function parseLine(raw: string): CatalogLine | undefined {
  try {
    return JSON.parse(raw) as CatalogLine;
  } catch {
    try {
      return JSON.parse(raw.replace(/([:[,]\s*)(?:NaN|-?Infinity)(?=\s*[,\]}])/g, '$1null')) as CatalogLine;
    } catch {
      return undefined;
    }
  }
}

/**
 * Models a team allows, in the form of HuggingGPT's own model list: one JSON object per line with `id`,
 * `task` (or `pipeline_tag`), `downloads`, `likes`, `meta` and `description`. The file is re-read when it
 * changes on disk, so editing it needs no restart.
 */
export function createCatalogFileSource(path: string, options: CatalogFileSourceOptions = {}): ModelSource {
  const backend = options.backend ?? HF_INFERENCE_BACKEND_ID;
  const availability =
    options.availability ??
    (backend === HF_INFERENCE_BACKEND_ID ? hfInferenceAvailability(options.hfToken) : { available: true });
  const descriptionChars = options.descriptionChars ?? 800;
  let loaded: { mtimeMs: number; cards: ModelCard[]; skipped: string[] } | undefined;

  async function load(): Promise<{ cards: ModelCard[]; skipped: string[] }> {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
    } catch (error) {
      throw new ConfigError(
        `Catalog file ${path} cannot be read (${errorMessage(error)}); set inference.catalogFile or JARVIS_CATALOG to a JSONL file`,
      );
    }
    if (loaded && loaded.mtimeMs === mtimeMs) return loaded;
    const text = await readFile(path, 'utf8');
    const cards: ModelCard[] = [];
    const skipped: string[] = [];
    text.split(/\r?\n/).forEach((raw, index) => {
      if (raw.trim() === '') return;
      const line = parseLine(raw);
      if (!line) {
        skipped.push(`line ${index + 1}: not JSON`);
        return;
      }
      const task = typeof line.task === 'string' ? line.task : line.pipeline_tag;
      if (typeof line.id !== 'string' || line.id === '') {
        skipped.push(`line ${index + 1}: no "id"`);
        return;
      }
      if (typeof task !== 'string' || !isTaskName(task)) {
        skipped.push(`line ${index + 1}: task "${String(task)}" is not in the task vocabulary`);
        return;
      }
      const lineBackend = typeof line.backend === 'string' && line.backend !== '' ? line.backend : backend;
      const lineAvailability =
        lineBackend === backend
          ? availability
          : lineBackend === HF_INFERENCE_BACKEND_ID
            ? hfInferenceAvailability(options.hfToken)
            : { available: true };
      const downloads = numberOrUndefined(line.downloads);
      const likes = numberOrUndefined(line.likes);
      const tags = tagsOf(line);
      cards.push({
        id: line.id,
        backend: lineBackend,
        task: task as TaskName,
        // HuggingGPT's descriptions are raw model-card markdown: keep the words, drop the markup.
        description:
          typeof line.description === 'string' ? cardDescription(line.description, descriptionChars) : '',
        source: CATALOG_FILE_SOURCE_ID,
        ...(downloads === undefined ? {} : { downloads }),
        ...(likes === undefined ? {} : { likes }),
        ...(tags === undefined ? {} : { tags }),
        // The catalog replaces this with the named backend's own card when that backend has the model.
        local: lineBackend !== HF_INFERENCE_BACKEND_ID,
        available: lineAvailability.available,
        ...(lineAvailability.reason === undefined ? {} : { reason: lineAvailability.reason }),
      });
    });
    loaded = { mtimeMs, cards, skipped };
    return loaded;
  }

  let lastStatus: SourceStatus = { source: CATALOG_FILE_SOURCE_ID, message: `catalog file ${path}` };

  return {
    id: CATALOG_FILE_SOURCE_ID,
    async list(task?: TaskName): Promise<ModelCard[]> {
      const { cards, skipped } = await load();
      lastStatus = {
        source: CATALOG_FILE_SOURCE_ID,
        message:
          `catalog file ${path}: ${cards.length} models` +
          (skipped.length > 0 ? `, ${skipped.length} lines skipped (${skipped.slice(0, 3).join('; ')})` : ''),
      };
      return task === undefined ? [...cards] : cards.filter((card) => card.task === task);
    },
    status(): SourceStatus {
      return lastStatus;
    },
  };
}
