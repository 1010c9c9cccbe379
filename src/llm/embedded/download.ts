import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CancelledError, ConfigError, errorMessage } from '../../core/errors.js';

/**
 * Downloading a GGUF model once into the cache: node-llama-cpp resolves the reference and downloads (ipull:
 * resumable, a partial file `<name>.ipull` is continued by the next attempt with a Range request); Jarvis adds
 * what a multi-gigabyte first run needs: it says what and how big before it starts, one download per file per
 * process however many requests wait for it, and a size and sha256 check against what the Hub says.
 */

export const DEFAULT_HUB_URL = 'https://huggingface.co';

/** What the Hub says about the file a model reference names. */
export interface ModelFileInfo {
  /** Where the bytes are (the Hub's resolve URL, or the URL given). */
  url: string;
  size?: number;
  /** The file's sha256 when the Hub stores it in LFS (`X-Linked-Etag`), else undefined: size only. */
  sha256?: string;
}

export interface DownloadModelOptions {
  cacheDir: string;
  /** The Hub or a mirror; `inference.hubUrl` / HF_ENDPOINT. */
  hubUrl?: string;
  token?: string;
  /** One line at a time: what is downloaded and how big, then progress. */
  onProgress?: (message: string) => void;
  /** Stops waiting; the download itself stops when nobody waits any more (and resumes next time). */
  signal?: AbortSignal;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  return `${Math.max(1, Math.round(bytes / 1e3))} kB`;
}

// HF_ENDPOINT as node-llama-cpp (and every Hugging Face client) reads it, for callers without a config.
const hubOf = (hubUrl: string | undefined): string =>
  (hubUrl || process.env.HF_ENDPOINT || DEFAULT_HUB_URL).replace(/\/+$/, '');
const encodePath = (path: string): string => path.split('/').map(encodeURIComponent).join('/');

/** The Hub's resolve URL of a reference, asking llama.cpp's manifest route when it names a quantization. */
async function resolveFileUrl(
  model: string,
  hub: string,
  headers: Record<string, string>,
  signal: AbortSignal,
) {
  if (/^https?:\/\//i.test(model)) return model;
  const body = model.replace(/^(hf|huggingface):(\/\/)?/i, '');
  const [hashless, branch = 'main'] = body.split('#') as [string, string?];
  const [owner, repoWithTag, ...path] = hashless.split('/');
  if (!owner || !repoWithTag)
    throw new ConfigError(`${model} is not a model reference (hf:owner/repo:QUANT)`);
  if (path.length > 0) {
    return `${hub}/${encodeURIComponent(owner)}/${encodeURIComponent(repoWithTag)}/resolve/${encodeURIComponent(branch)}/${encodePath(path.join('/'))}`;
  }
  const [repo, tag = 'latest'] = repoWithTag.split(':') as [string, string?];
  // The same request node-llama-cpp (and llama.cpp's `-hf`) makes; the user agent selects the GGUF answer.
  const response = await fetch(
    `${hub}/v2/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/manifests/${encodeURIComponent(tag)}`,
    { headers: { ...headers, 'user-agent': 'llama-cpp' }, signal },
  );
  if (!response.ok) throw new HubAnswer(response.status, `the Hub has no ${model} (HTTP ${response.status})`);
  const manifest = (await response.json()) as { ggufFile?: { rfilename?: string } };
  const file = manifest.ggufFile?.rfilename;
  if (!file) throw new HubAnswer(response.status, `the Hub's manifest of ${model} names no GGUF file`);
  return `${hub}/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}/resolve/main/${encodePath(file)}`;
}

/** The Hub answered, but not with the file: not a network problem, so "go online" is not the advice. */
class HubAnswer extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function sha256Of(etag: string | null): string | undefined {
  const value = etag?.replace(/^W\//, '').replace(/"/g, '').toLowerCase();
  return value && /^[0-9a-f]{64}$/.test(value) ? value : undefined;
}

/**
 * The size and sha256 of a model file, from one HEAD request that does not follow the redirect: for LFS files
 * the Hub puts `X-Linked-Size` and `X-Linked-Etag` (the sha256) on the redirect to its storage; a mirror that
 * answers directly gives at least `Content-Length`.
 */
export async function fetchModelFileInfo(
  model: string,
  options: { hubUrl?: string; token?: string; signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<ModelFileInfo> {
  const hub = hubOf(options.hubUrl);
  const signal = AbortSignal.any([
    AbortSignal.timeout(options.timeoutMs ?? 20_000),
    ...(options.signal ? [options.signal] : []),
  ]);
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  const url = await resolveFileUrl(model, hub, headers, signal);
  let response = await fetch(url, { method: 'HEAD', headers, redirect: 'manual', signal });
  const linkedSize = Number(response.headers.get('x-linked-size') ?? Number.NaN);
  const sha256 = sha256Of(response.headers.get('x-linked-etag') ?? response.headers.get('etag'));
  if (response.status >= 300 && response.status < 400 && Number.isNaN(linkedSize)) {
    // A plain redirect (a renamed repository, a mirror): the file's own headers are at the end of it.
    response = await fetch(url, { method: 'HEAD', headers, signal });
  }
  if (response.status >= 400)
    throw new HubAnswer(response.status, `the Hub has no ${model} (HTTP ${response.status})`);
  const length = Number(response.headers.get('content-length') ?? Number.NaN);
  const size = Number.isFinite(linkedSize) && linkedSize > 0 ? linkedSize : length > 0 ? length : undefined;
  return { url, ...(size === undefined ? {} : { size }), ...(sha256 ? { sha256 } : {}) };
}

/** The sha256 of a file, streamed: model files are gigabytes. */
export async function sha256File(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, {
    highWaterMark: 1 << 22,
    ...(signal ? { signal } : {}),
  })) {
    hash.update(chunk as Buffer);
  }
  return hash.digest('hex');
}

/**
 * Written beside a model file before its download starts and removed once the file is checked: a model file
 * with this note beside it was never checked (the process stopped in between), so it is checked before use.
 */
const pendingNote = (path: string): string => `${path}.jarvis-pending.json`;

interface PendingNote {
  model: string;
  url: string;
  size?: number;
  sha256?: string;
}

/** Refuses a file that is not what the Hub said, deleting it so that the next attempt downloads it anew. */
async function verifyModelFile(path: string, expected: PendingNote, signal?: AbortSignal): Promise<void> {
  const actualSize = (await stat(path)).size;
  let problem: string | undefined;
  if (expected.size !== undefined && actualSize !== expected.size) {
    problem = `it is ${actualSize} bytes where the Hub says ${expected.size}`;
  } else if (expected.sha256) {
    const actual = await sha256File(path, signal);
    if (actual !== expected.sha256) problem = `its sha256 is ${actual} where the Hub says ${expected.sha256}`;
  }
  if (!problem) {
    await rm(pendingNote(path), { force: true });
    return;
  }
  await rm(path, { force: true });
  await rm(pendingNote(path), { force: true });
  throw new ConfigError(
    `The downloaded model file ${path} does not match ${expected.url}: ${problem}. It was deleted, not used; ` +
      'run again to download it anew (a mirror or proxy may be altering the file: check HF_ENDPOINT).',
    { model: expected.model },
  );
}

/**
 * A cached model file, checked first when its download was never checked (see `pendingNote`). Throws the
 * refusal when the check fails; returns the path otherwise.
 */
export async function checkCachedModelFile(path: string, signal?: AbortSignal): Promise<string> {
  const note = pendingNote(path);
  if (!existsSync(note)) return path;
  let expected: PendingNote;
  try {
    expected = JSON.parse(await readFile(note, 'utf8')) as PendingNote;
  } catch {
    // An unreadable note says nothing to check against: the file is used as node-llama-cpp left it.
    await rm(note, { force: true });
    return path;
  }
  await verifyModelFile(path, expected, signal);
  return path;
}

interface SharedDownload {
  promise: Promise<string>;
  listeners: Set<(message: string) => void>;
  waiters: number;
  stop: AbortController;
}

/** Downloads in progress in this process, by model and folder: concurrent first requests share one. */
const downloads = new Map<string, SharedDownload>();

async function runDownload(
  model: string,
  options: DownloadModelOptions,
  shared: SharedDownload,
): Promise<string> {
  const say = (message: string) => {
    for (const listener of shared.listeners) listener(message);
  };
  const hubUrl = hubOf(options.hubUrl);
  const signal = shared.stop.signal;
  let info: ModelFileInfo;
  try {
    info = await fetchModelFileInfo(model, {
      hubUrl,
      ...(options.token ? { token: options.token } : {}),
      signal,
    });
  } catch (error) {
    if (signal.aborted) throw new CancelledError('The model download');
    if (error instanceof ConfigError) throw error;
    const reason =
      error instanceof HubAnswer
        ? error.message
        : `the Hub at ${hubUrl} is unreachable (${errorMessage((error as Error).cause ?? error)})`;
    throw new DownloadUnavailableError(reason);
  }
  const { createModelDownloader } = await import('node-llama-cpp');
  const downloader = await createModelDownloader({
    modelUri: model,
    dirPath: options.cacheDir,
    // Progress goes through `onProgress` as whole lines: a redrawing bar would break the live task view.
    showCliProgress: false,
    // Stopped downloads keep their partial file, which the next attempt continues.
    deleteTempFileOnCancel: false,
    endpoints: { huggingFace: `${hubUrl}/` },
    ...(options.token ? { tokens: { huggingFace: options.token } } : {}),
    onProgress: ({ totalSize, downloadedSize, averageSpeed }) =>
      reportProgress(totalSize, downloadedSize, averageSpeed),
  });
  const path = downloader.entrypointFilePath;
  const size = info.size ?? (downloader.totalSize || undefined);
  const resumed = existsSync(`${path}.ipull`);
  say(
    `${resumed ? 'Resuming the download of' : 'Downloading'} ${model} (${size ? formatBytes(size) : 'size unknown'}) ` +
      `from ${info.url.replace(/\?.*$/, '')} into ${path}, once: later runs start from the cache. ` +
      'Stopping is safe: the next run continues the download.',
  );
  let lastLine = 0;
  let lastStep = -1;
  function reportProgress(totalSize: number, downloadedSize: number, averageSpeed: number): void {
    const total = totalSize || size || 0;
    if (total <= 0) return;
    const percent = Math.min(100, Math.floor((downloadedSize / total) * 100));
    // A line per 5%, at most one every two seconds (except the last): readable in a log, alive on a terminal.
    const step = Math.floor(percent / 5);
    const now = Date.now();
    if (step === lastStep || (percent < 100 && now - lastLine < 2000)) return;
    lastStep = step;
    lastLine = now;
    const speed = averageSpeed > 0 ? `, ${formatBytes(averageSpeed)}/s` : '';
    const left =
      averageSpeed > 0 && percent < 100
        ? `, about ${Math.max(1, Math.round((total - downloadedSize) / averageSpeed / 60))} min left`
        : '';
    say(
      `Downloading ${basename(path)}: ${percent}% (${formatBytes(downloadedSize)} of ${formatBytes(total)}${speed}${left})`,
    );
  }
  const expected: PendingNote = {
    model,
    url: info.url,
    ...(size === undefined ? {} : { size }),
    ...(info.sha256 ? { sha256: info.sha256 } : {}),
  };
  // Split models (several files) are checked by node-llama-cpp's sizes only: the Hub's hash is per file.
  const checkable = downloader.totalFiles === 1;
  if (checkable) await writeFile(pendingNote(path), JSON.stringify(expected));
  try {
    if (signal.aborted) throw signal.reason;
    await downloader.download({ signal });
  } catch (error) {
    // The note stays while there is something to check or continue: a partial file, or a file ipull finished.
    if (checkable && !existsSync(path) && !existsSync(`${path}.ipull`))
      await rm(pendingNote(path), { force: true });
    if (signal.aborted) throw new CancelledError('The model download');
    throw new DownloadUnavailableError(`downloading ${model} failed (${errorMessage(error)})`);
  }
  if (!checkable) return path;
  if (expected.sha256) say(`Checking the sha256 of ${basename(path)}`);
  await verifyModelFile(path, expected, signal);
  say(`Downloaded ${model} into ${path}`);
  return path;
}

/** The Hub cannot give the model now; the caller words the three ways forward. */
export class DownloadUnavailableError extends Error {
  override name = 'DownloadUnavailableError';
}

/**
 * Downloads a model reference into `cacheDir` (or joins the download already running for it) and returns the
 * checked file. Leaving early (the signal) stops only this caller's wait; the download stops when no caller
 * waits any more, keeping its partial file for the next attempt.
 */
export function downloadModel(model: string, options: DownloadModelOptions): Promise<string> {
  const key = `${options.cacheDir}\u0000${model}`;
  let shared = downloads.get(key);
  if (!shared) {
    const created: SharedDownload = {
      listeners: new Set(),
      waiters: 0,
      stop: new AbortController(),
      promise: Promise.resolve(''),
    };
    created.promise = runDownload(model, options, created).finally(() => {
      if (downloads.get(key) === created) downloads.delete(key);
    });
    // Nobody may be waiting when it fails (all callers left): that is not an unhandled rejection.
    created.promise.catch(() => undefined);
    downloads.set(key, created);
    shared = created;
  }
  const current = shared;
  if (options.onProgress) current.listeners.add(options.onProgress);
  current.waiters += 1;
  const signal = options.signal;
  return new Promise<string>((resolvePromise, rejectPromise) => {
    let settled = false;
    const leave = (): boolean => {
      if (settled) return false;
      settled = true;
      current.waiters -= 1;
      if (options.onProgress) current.listeners.delete(options.onProgress);
      signal?.removeEventListener('abort', onAbort);
      return true;
    };
    const onAbort = () => {
      if (!leave()) return;
      if (current.waiters === 0) {
        if (downloads.get(key) === current) downloads.delete(key);
        current.stop.abort();
      }
      rejectPromise(new CancelledError('The model download'));
    };
    current.promise.then(
      (path) => {
        if (leave()) resolvePromise(path);
      },
      (error: unknown) => {
        if (leave()) rejectPromise(error);
      },
    );
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}
