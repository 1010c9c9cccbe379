import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PIPELINE_DATA } from '@huggingface/tasks';
import type { ModelCard } from '../core/backend.js';
import { errorMessage, redact } from '../core/errors.js';
import { isTaskName, type TaskName } from '../core/tasks.js';
import { cardDescription } from './description.js';
import type { ModelSource, SourceStatus } from './index.js';
import { HF_INFERENCE_BACKEND_ID, hfInferenceAvailability } from './remote.js';

export const HUB_SOURCE_ID = 'hub';

export interface HubSourceOptions {
  /** Folder for the cached listings (`<cacheDir>/hub-catalog/<task>.json`). */
  cacheDir: string;
  /** Hub API base, `https://huggingface.co` by default; tests point it at a loopback server. */
  hubUrl?: string;
  /** Sent to the Hub (higher rate limits, gated models); also what makes the cards available. */
  token?: string;
  fetch?: typeof fetch;
  /** Never call the Hub; use the cache whatever its age. */
  offline?: boolean;
  /** How old a cached listing may get before it is fetched again (default one day). */
  refreshAgeMs?: number;
  /** How many of the most downloaded models per task (default 10). */
  perTask?: number;
  descriptionChars?: number;
  /** Time allowed for the listing plus the model cards of one task (default 15 s). */
  timeoutMs?: number;
  /** After the Hub could not be reached, how long to use the cache without trying again (default 5 min). */
  retryAfterMs?: number;
  /** Said once per condition: offline with an old cache, Hub unreachable, nothing cached. */
  onNotice?: (message: string) => void;
  now?: () => number;
}

interface CachedModel {
  id: string;
  downloads?: number;
  likes?: number;
  tags?: string[];
  description: string;
}

interface CachedListing {
  task: TaskName;
  fetchedAt: number;
  models: CachedModel[];
}

/** "fetch failed" says nothing; its cause ("getaddrinfo ENOTFOUND huggingface.co") says what happened. */
export function networkErrorMessage(error: unknown): string {
  const message = errorMessage(error);
  const cause = error instanceof Error ? (error.cause as { message?: unknown } | undefined) : undefined;
  return typeof cause?.message === 'string' && cause.message !== ''
    ? `${message}: ${cause.message}`
    : message;
}

/** "3 hours", "2 days": how old a cache is, for people. */
export function describeAge(ms: number): string {
  const minutes = Math.round(ms / 60_000);
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} minute${minutes === 1 ? '' : 's'}`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} hour${hours === 1 ? '' : 's'}`;
  const days = Math.round(hours / 24);
  return `${days} days`;
}

const HUB_PIPELINE_TAGS = new Set(Object.keys(PIPELINE_DATA));

/** Runs `work` over `items` with at most `limit` in flight, keeping the order of results. */
async function mapLimited<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(workers);
  return results;
}

/**
 * The most downloaded Hub models of each task, with the first part of their model cards, cached on disk.
 * A task's listing is fetched the first time that task is asked for and again once it is older than
 * `refreshAgeMs`; offline, or when the Hub cannot be reached, the cache is used and its age said once.
 */
export function createHubSource(options: HubSourceOptions): ModelSource {
  const dir = join(options.cacheDir, 'hub-catalog');
  const refreshAgeMs = options.refreshAgeMs ?? 24 * 60 * 60 * 1000;
  const perTask = options.perTask ?? 10;
  const descriptionChars = options.descriptionChars ?? 800;
  const timeoutMs = options.timeoutMs ?? 15_000;
  const retryAfterMs = options.retryAfterMs ?? 5 * 60 * 1000;
  // A failed call usually means no network: every task would wait for the same failure.
  let unreachableSince: { at: number; why: string } | undefined;
  const now = options.now ?? Date.now;
  const availability = hfInferenceAvailability(options.token);
  const said = new Set<string>();
  const inFlight = new Map<TaskName, Promise<CachedListing | undefined>>();
  let lastStatus: SourceStatus = { source: HUB_SOURCE_ID, message: 'Hugging Face Hub: nothing listed yet' };

  const notice = (key: string, message: string): void => {
    lastStatus = { source: HUB_SOURCE_ID, message };
    if (said.has(key)) return;
    said.add(key);
    options.onNotice?.(message);
  };

  const cachePath = (task: TaskName): string => join(dir, `${task}.json`);

  async function readCache(task: TaskName): Promise<CachedListing | undefined> {
    try {
      const listing = JSON.parse(await readFile(cachePath(task), 'utf8')) as CachedListing;
      return Array.isArray(listing.models) && typeof listing.fetchedAt === 'number' ? listing : undefined;
    } catch {
      return undefined;
    }
  }

  async function writeCache(listing: CachedListing): Promise<void> {
    await mkdir(dir, { recursive: true });
    // Written beside and renamed, so a reader never sees half a file.
    const temporary = `${cachePath(listing.task)}.${process.pid}.tmp`;
    await writeFile(temporary, JSON.stringify(listing));
    await rename(temporary, cachePath(listing.task));
  }

  async function fetchListing(task: TaskName): Promise<CachedListing> {
    const signal = AbortSignal.timeout(timeoutMs);
    const baseFetch = options.fetch ?? fetch;
    const timedFetch: typeof fetch = (input, init) =>
      baseFetch(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, signal]) : signal });
    const common = {
      ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
      ...(options.token ? { accessToken: options.token } : {}),
      fetch: timedFetch,
    };
    // The Hub client is loaded only when the Hub is actually asked (not offline, not served from the cache).
    const { downloadFile, listModels } = await import('@huggingface/hub');
    const entries: { name: string; downloads: number; likes: number; tags?: string[] }[] = [];
    for await (const entry of listModels({
      ...common,
      search: { task: task as never },
      sort: 'downloads',
      limit: perTask,
      additionalFields: ['tags'],
    })) {
      entries.push(entry);
    }
    const models = await mapLimited(entries, 4, async (entry): Promise<CachedModel> => {
      let description = '';
      try {
        const blob = await downloadFile({ ...common, repo: entry.name, path: 'README.md', xet: false });
        if (blob) description = cardDescription(await blob.text(), descriptionChars);
      } catch {
        // A model without a readable card still belongs in the list; its tags describe it.
      }
      const tags = Array.isArray(entry.tags)
        ? entry.tags.filter((tag) => typeof tag === 'string')
        : undefined;
      return {
        id: entry.name,
        downloads: entry.downloads,
        likes: entry.likes,
        ...(tags && tags.length > 0 ? { tags } : {}),
        description: description || (tags ? `Tags: ${tags.slice(0, 12).join(', ')}` : ''),
      };
    });
    const listing: CachedListing = { task, fetchedAt: now(), models };
    await writeCache(listing).catch((error: unknown) =>
      notice(`write:${task}`, `Hub catalog cache could not be written in ${dir}: ${errorMessage(error)}`),
    );
    return listing;
  }

  async function listing(task: TaskName): Promise<CachedListing | undefined> {
    const cached = await readCache(task);
    const age = cached ? now() - cached.fetchedAt : Number.POSITIVE_INFINITY;
    if (cached && age < refreshAgeMs) {
      lastStatus = {
        source: HUB_SOURCE_ID,
        message: `Hugging Face Hub: ${task} listed ${describeAge(age)} ago`,
      };
      return cached;
    }
    if (options.offline) {
      if (cached) {
        notice(
          `offline:${task}`,
          `Offline: Hub models for ${task} come from a cache that is ${describeAge(age)} old`,
        );
        return cached;
      }
      notice('offline-empty', 'Offline and no Hub catalog is cached: Hub models are not listed');
      return undefined;
    }
    try {
      if (unreachableSince && now() - unreachableSince.at < retryAfterMs)
        throw new Error(unreachableSince.why);
      const fresh = await fetchListing(task);
      unreachableSince = undefined;
      lastStatus = { source: HUB_SOURCE_ID, message: `Hugging Face Hub: ${task} listed just now` };
      return fresh;
    } catch (error) {
      const why = redact(networkErrorMessage(error), [options.token]);
      if (!unreachableSince || now() - unreachableSince.at >= retryAfterMs)
        unreachableSince = { at: now(), why };
      if (cached) {
        notice(
          `stale:${task}`,
          `Hugging Face Hub unreachable (${why}): Hub models for ${task} come from a cache that is ${describeAge(age)} old`,
        );
        return cached;
      }
      notice(
        'unreachable-empty',
        `Hugging Face Hub unreachable (${why}) and nothing cached: Hub models are not listed`,
      );
      return undefined;
    }
  }

  function toCards(listing: CachedListing): ModelCard[] {
    return listing.models.map((model) => ({
      id: model.id,
      backend: HF_INFERENCE_BACKEND_ID,
      task: listing.task,
      description: model.description,
      source: HUB_SOURCE_ID,
      ...(model.downloads === undefined ? {} : { downloads: model.downloads }),
      ...(model.likes === undefined ? {} : { likes: model.likes }),
      ...(model.tags === undefined ? {} : { tags: model.tags }),
      local: false,
      available: availability.available,
      ...(availability.reason === undefined ? {} : { reason: availability.reason }),
    }));
  }

  return {
    id: HUB_SOURCE_ID,
    async list(task?: TaskName): Promise<ModelCard[]> {
      if (task === undefined) {
        // Without a task, fetching every task would be hundreds of calls: show what is cached.
        const files = await readdir(dir).catch(() => [] as string[]);
        const tasks = files
          .filter((file) => file.endsWith('.json'))
          .map((file) => file.slice(0, -'.json'.length))
          .filter(isTaskName);
        const listings = await Promise.all(tasks.map(readCache));
        return listings.flatMap((entry) => (entry ? toCards(entry) : []));
      }
      // Control tasks and HuggingGPT's legacy names are not Hub pipeline tags.
      if (!HUB_PIPELINE_TAGS.has(task)) return [];
      let pending = inFlight.get(task);
      if (!pending) {
        pending = listing(task).finally(() => inFlight.delete(task));
        inFlight.set(task, pending);
      }
      const result = await pending;
      return result ? toCards(result) : [];
    },
    status(): SourceStatus {
      return lastStatus;
    },
  };
}
