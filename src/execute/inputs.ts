import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { constants, createWriteStream, readdirSync } from 'node:fs';
import { type FileHandle, open, realpath, rename, rm, stat } from 'node:fs/promises';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { createRequire } from 'node:module';
import type { LookupFunction } from 'node:net';
import { basename, dirname, extname, resolve } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { closestNames } from '../core/did-you-mean.js';
import { CancelledError, InputError, type InputFile, redact } from '../core/index.js';
import { isInside } from '../core/paths.js';
import {
  detectFileType,
  extensionForMimeType,
  mimeTypeFromExtension,
  sniffFileType,
} from '../media/types.js';
import type { ArtifactDirectory } from './artifacts.js';

export type FileKind = 'image' | 'audio' | 'video';

/** What files and URLs a run may read. */
export interface InputPolicy {
  /** Relative paths resolve against it, and files inside it may be read. */
  cwd: string;
  /** Single files outside `cwd` that may be read (uploads, files named on the command line). */
  allowedFiles: string[];
  /** Folders outside `cwd` whose files may be read. */
  allowedDirs: string[];
  /** Allow URLs on private, loopback, link-local, unique-local and CGNAT addresses. */
  allowPrivateUrls: boolean;
  maxDownloadBytes: number;
  urlTimeoutMs: number;
  /**
   * Hosts (`name` or `name:port`) trusted even when they resolve to a private address, such as a file
   * server on the local network. Redirects away from them are checked again.
   */
  allowedHosts?: string[];
}

const MAX_REDIRECTS = 5;
const KIND_NAMES: Record<FileKind, string> = { image: 'an image', audio: 'audio', video: 'a video' };

/**
 * Names in the folder of `path` that are a typo away from its file name ("kite.jpg" for "kitee.jpg"), closest
 * first; empty when the folder cannot be read. Reads at most 10,000 entries.
 */
export function similarFileNames(path: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dirname(path));
  } catch {
    return [];
  }
  return closestNames(basename(path), names, { max: 3, limit: 10_000 });
}

async function realOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await realpath(path);
  } catch {
    return undefined;
  }
}

/** Recognises `http:`, `file:`, `data:`..., but not a bare path, nor a Windows drive letter. */
function urlScheme(value: string): string | undefined {
  const match = /^([A-Za-z][A-Za-z0-9+.-]+):/.exec(value);
  return match ? match[1]!.toLowerCase() : undefined;
}

/** The real folders and files a policy allows, for checking a real path against. */
async function realConfinement(policy: InputPolicy) {
  const cwd = resolve(policy.cwd);
  const lexicalRoots = [cwd, ...policy.allowedDirs.map((dir) => resolve(cwd, dir))];
  const lexicalFiles = policy.allowedFiles.map((file) => resolve(cwd, file));
  const realRoots = (await Promise.all(lexicalRoots.map(realOrUndefined))).filter(
    (root) => root !== undefined,
  );
  const realFiles = (await Promise.all(lexicalFiles.map(realOrUndefined))).filter(
    (file) => file !== undefined,
  );
  return {
    cwd,
    lexicalRoots,
    lexicalFiles,
    realRoots,
    realFiles,
    allowsReal: (real: string) => realRoots.some((root) => isInside(root, real)) || realFiles.includes(real),
  };
}

/**
 * The real path of a local input file, if the policy allows reading it. The lexical path is checked before
 * anything touches the disk, and the real path after, so neither `../` nor a symlink can reach outside the
 * allowed places. The answer holds only at the moment it is given: `openLocalInput` is what makes it hold
 * for the bytes an expert reads.
 */
export async function resolveLocalFile(value: string, policy: InputPolicy): Promise<string> {
  const { cwd, lexicalRoots, lexicalFiles, realRoots, realFiles, allowsReal } = await realConfinement(policy);
  const path = resolve(cwd, value);

  const refuse = () =>
    new InputError(`refused: "${value}" is outside the working directory and the allowed folders`, {
      path: value,
    });
  const lexicallyAllowed =
    [...lexicalRoots, ...realRoots].some((root) => isInside(root, path)) ||
    [...lexicalFiles, ...realFiles].includes(path);
  if (!lexicallyAllowed) throw refuse();

  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EACCES')
      throw new InputError(`input file "${value}" cannot be read (permission denied)`, { path });
    const meant = similarFileNames(path);
    const hint = meant.length > 0 ? `; did you mean ${meant.map((name) => `"${name}"`).join(' or ')}?` : '';
    throw new InputError(`input file "${value}" was not found (looked for ${path})${hint}`, { path });
  }
  if (!allowsReal(real)) throw refuse();
  const info = await stat(real);
  if (!info.isFile()) throw new InputError(`input "${value}" is not a file`, { path });
  return real;
}

/** A local input as an expert receives it: a private copy, and the file it was copied from. */
export interface LocalInput extends InputFile {
  /** The checked real path the user named; `path` is the copy in the run folder. */
  source: string;
}

/**
 * Opens a checked local input once and copies it, from the open descriptor, into the run folder, where
 * only this run writes. An expert that opened the user's path later would open whatever is there by then:
 * swapping the file for a symlink between the check and the expert's open let 31 of 180 tasks read outside
 * the working directory. Here the last component is opened without following symlinks, and the descriptor
 * itself is checked: on Linux its real path (`/proc/self/fd/N`) must still be inside the allowed places;
 * elsewhere its device and inode must be those of the real path, which must still be allowed.
 */
export async function openLocalInput(
  value: string,
  policy: InputPolicy,
  directory: ArtifactDirectory,
): Promise<LocalInput> {
  const real = await resolveLocalFile(value, policy);
  const refuse = () =>
    new InputError(
      `refused: "${value}" changed while it was read (it now leads outside the allowed places)`,
      {
        path: value,
      },
    );
  let handle: FileHandle;
  try {
    handle = await open(real, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    // ELOOP: the last component became a symlink since the check.
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw refuse();
    throw new InputError(`input file "${value}" cannot be read: ${(error as Error).message}`, { path: real });
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw refuse();
    const { allowsReal } = await realConfinement(policy);
    // Linux names the file a descriptor is open on; where /proc is missing (some containers, other
    // systems) the descriptor's device and inode must be those of the real path, still allowed, instead.
    const opened =
      process.platform === 'linux' ? await realOrUndefined(`/proc/self/fd/${handle.fd}`) : undefined;
    if (opened !== undefined) {
      if (!allowsReal(opened)) throw refuse();
    } else {
      const now = await realOrUndefined(real);
      const named = now === undefined ? undefined : await stat(now).catch(() => undefined);
      if (!now || !allowsReal(now) || named?.dev !== info.dev || named?.ino !== info.ino) throw refuse();
    }
    const extension = extname(real).slice(1) || 'bin';
    const stem =
      extension === 'bin' && !real.endsWith('.bin') ? basename(real) : basename(real, `.${extension}`);
    // `wx`: never written through a file or link already there (an earlier run's, or one planted); a
    // name that is taken is passed over for the next.
    let copy = directory.reservePath(stem, extension, 'inputs');
    let target: FileHandle | undefined;
    for (let attempt = 0; target === undefined; attempt++) {
      try {
        target = await open(copy, 'wx', 0o600);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 100) throw error;
        copy = directory.reservePath(stem, extension, 'inputs');
      }
    }
    try {
      // Streamed from the descriptor, not reopened by name: the bytes are those of the file checked.
      await pipeline(handle.createReadStream({ start: 0, autoClose: false }), target.createWriteStream());
    } catch (error) {
      await rm(copy, { force: true }).catch(() => {});
      throw error;
    } finally {
      await target.close().catch(() => {});
    }
    return { path: copy, mimeType: await detectFileType(copy), source: real };
  } finally {
    await handle.close();
  }
}

/**
 * ipaddr.js, required on first use: it is CommonJS, so `require` loads it synchronously where it is needed,
 * and runs without URL inputs do not load it at all.
 */
let ipaddrModule: typeof import('ipaddr.js') | undefined;
function ipaddr(): typeof import('ipaddr.js') {
  ipaddrModule ??= createRequire(import.meta.url)('ipaddr.js') as typeof import('ipaddr.js');
  return ipaddrModule;
}

/** True for globally routable unicast addresses; false for everything a server-side fetch must not reach. */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr().isValid(address)) return false;
  // `process` turns IPv4-mapped IPv6 (::ffff:127.0.0.1) into the IPv4 address it hides.
  const parsed = ipaddr().process(address);
  return parsed.range() === 'unicast';
}

/** A URL fit for messages: no credentials, no tokens. */
function showUrl(url: URL): string {
  if (!url.username && !url.password) return redact(url.href);
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  return redact(copy.href);
}

function parseUrl(raw: string, base?: URL): URL {
  try {
    return new URL(raw, base);
  } catch {
    throw new InputError(`refused: "${redact(raw)}" is not a valid URL`, { url: redact(raw) });
  }
}

function hostAllowed(url: URL, policy: InputPolicy): boolean {
  const hosts = policy.allowedHosts ?? [];
  return hosts.includes(url.host) || hosts.includes(url.hostname);
}

function privateAddressError(url: URL, address: string): InputError {
  return new InputError(
    `refused: ${showUrl(url)} resolves to the non-public address ${address} ` +
      '(set execute.allowPrivateUrls to allow private, loopback and link-local addresses)',
    { url: showUrl(url), address },
  );
}

/**
 * A DNS lookup that refuses non-public answers. The check runs on the very addresses the socket then
 * connects to, so a host that answers differently the second time (DNS rebinding) gains nothing.
 */
function guardedLookup(url: URL, onRefused: (error: InputError) => void): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) {
        callback(error, '', 4);
        return;
      }
      const bad = addresses.find((entry) => !isPublicAddress(entry.address));
      if (bad) {
        const refusal = privateAddressError(url, bad.address);
        onRefused(refusal);
        callback(refusal as unknown as NodeJS.ErrnoException, '', 4);
        return;
      }
      if (options.all) (callback as unknown as (error: null, all: LookupAddress[]) => void)(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

function get(url: URL, lookup: LookupFunction | undefined, kind: FileKind, signal: AbortSignal) {
  return new Promise<IncomingMessage>((resolvePromise, reject) => {
    const client = url.protocol === 'https:' ? https : http;
    const request = client.get(url, {
      signal,
      headers: { accept: `${kind}/*, application/octet-stream;q=0.5`, 'user-agent': 'jarvis' },
      ...(lookup ? { lookup } : {}),
    });
    request.once('response', resolvePromise);
    request.once('error', reject);
  });
}

function mediaType(response: IncomingMessage): string | undefined {
  const header = response.headers['content-type'];
  if (!header) return undefined;
  return header.split(';')[0]!.trim().toLowerCase() || undefined;
}

function isGenericType(type: string | undefined): boolean {
  return type === undefined || type === 'application/octet-stream' || type === 'binary/octet-stream';
}

/** Stops a download the moment it passes the limit, instead of trusting Content-Length. */
function byteLimit(limit: number, url: string): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit)
        callback(new InputError(`refused: ${url} is larger than the ${limit}-byte limit`, { url }));
      else callback(null, chunk);
    },
  });
}

export interface FetchOptions {
  policy: InputPolicy;
  /** Downloads are saved under `<run folder>/inputs/`. */
  directory: ArtifactDirectory;
  signal: AbortSignal;
}

/**
 * Downloads an http(s) input into the run folder: redirects are followed by hand (at most 5) so that every
 * hop's address is checked, the body is streamed with a size limit and a timeout, and the content type
 * must match the argument's kind.
 */
export async function fetchUrlInput(raw: string, kind: FileKind, options: FetchOptions): Promise<InputFile> {
  const { policy } = options;
  let url = parseUrl(raw);
  const original = showUrl(url);
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(), policy.urlTimeoutMs);
  const signal = AbortSignal.any([options.signal, timeout.signal]);
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const shown = showUrl(url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new InputError(`refused: ${shown} uses ${url.protocol}, only http and https URLs are fetched`, {
          url: shown,
        });
      }
      const trusted = policy.allowPrivateUrls || hostAllowed(url, policy);
      const literal = url.hostname.replace(/^\[|\]$/g, '');
      if (!trusted && ipaddr().isValid(literal) && !isPublicAddress(literal))
        throw privateAddressError(url, literal);

      let refusal: InputError | undefined;
      let response: IncomingMessage;
      try {
        response = await get(
          url,
          trusted ? undefined : guardedLookup(url, (error) => (refusal = error)),
          kind,
          signal,
        );
      } catch (error) {
        if (refusal) throw refusal;
        if (timeout.signal.aborted) {
          throw new InputError(`fetching ${shown} timed out after ${policy.urlTimeoutMs} ms`, { url: shown });
        }
        if (options.signal.aborted) throw new CancelledError(`Fetching ${shown}`);
        throw new InputError(`fetching ${shown} failed: ${(error as Error).message}`, { url: shown });
      }

      const status = response.statusCode ?? 0;
      if (status >= 300 && status < 400 && response.headers.location) {
        response.resume();
        url = parseUrl(response.headers.location, url);
        continue;
      }
      if (status < 200 || status >= 300) {
        response.resume();
        throw new InputError(`fetching ${shown} failed: HTTP ${status}`, { url: shown, status });
      }
      return await saveResponse(response, url, kind, options, () => timeout.signal.aborted);
    }
    throw new InputError(`refused: ${original} redirects more than ${MAX_REDIRECTS} times`, {
      url: original,
    });
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The URL's path, %-decoded for use as a file name. A malformed escape (`%E0%A4%A`, a lone `%`) is kept as
 * written rather than refused: the name only labels the download, and a server may well serve that path.
 */
function fileNameOf(url: URL): string {
  try {
    return decodeURIComponent(url.pathname);
  } catch {
    return url.pathname;
  }
}

async function saveResponse(
  response: IncomingMessage,
  url: URL,
  kind: FileKind,
  options: FetchOptions,
  timedOut: () => boolean,
): Promise<InputFile> {
  const { policy } = options;
  const shown = showUrl(url);
  const declared = mediaType(response);
  if (!isGenericType(declared) && !declared!.startsWith(`${kind}/`)) {
    response.destroy();
    throw new InputError(`refused: ${shown} is ${declared}, not ${KIND_NAMES[kind]}`, { url: shown });
  }
  const length = Number(response.headers['content-length']);
  if (Number.isFinite(length) && length > policy.maxDownloadBytes) {
    response.destroy();
    throw new InputError(
      `refused: ${shown} is ${length} bytes, over the ${policy.maxDownloadBytes}-byte limit`,
      {
        url: shown,
      },
    );
  }

  const name = basename(fileNameOf(url)) || 'download';
  const nameExtension = extname(name).slice(1);
  const extension =
    (nameExtension && mimeTypeFromExtension(name)?.startsWith(`${kind}/`) ? nameExtension : undefined) ??
    (declared ? extensionForMimeType(declared) : undefined) ??
    'bin';
  const stem = nameExtension ? name.slice(0, -(nameExtension.length + 1)) : name;
  const path = options.directory.reservePath(stem, extension, 'inputs');
  try {
    await pipeline(response, byteLimit(policy.maxDownloadBytes, shown), createWriteStream(path));
  } catch (error) {
    await rm(path, { force: true });
    if (error instanceof InputError) throw error;
    if (timedOut())
      throw new InputError(`fetching ${shown} timed out after ${policy.urlTimeoutMs} ms`, { url: shown });
    if (options.signal.aborted) throw new CancelledError(`Fetching ${shown}`);
    throw new InputError(`fetching ${shown} failed: ${(error as Error).message}`, { url: shown });
  }

  const sniffed = await sniffFileType(path);
  if (sniffed?.startsWith(`${kind}/`)) {
    const better = extensionForMimeType(sniffed);
    if (extension !== 'bin' || better === undefined) return { path, mimeType: sniffed };
    // The URL and the headers gave no extension; the content did, and tools often go by the name.
    const named = options.directory.reservePath(stem, better, 'inputs');
    await rename(path, named);
    return { path: named, mimeType: sniffed };
  }
  // Content that sniffing cannot place (SVG, raw formats) is taken at the server's word; content it can place
  // as something else (a PDF sent as image/png) is not.
  if (sniffed === undefined && !isGenericType(declared)) return { path, mimeType: declared! };
  await rm(path, { force: true });
  throw new InputError(
    `refused: ${shown} does not look like ${KIND_NAMES[kind]} (content is ${sniffed ?? 'unrecognised'})`,
    { url: shown },
  );
}

/** A path or URL written in a plan argument, made into a file an expert may read. */
export async function resolveInputFile(
  value: string,
  kind: FileKind,
  options: FetchOptions,
): Promise<InputFile | LocalInput> {
  const trimmed = value.trim();
  if (trimmed.length === 0) throw new InputError(`the ${kind} argument is empty`);
  const scheme = urlScheme(trimmed);
  if (scheme === 'http' || scheme === 'https') return fetchUrlInput(trimmed, kind, options);
  let path = trimmed;
  if (scheme === 'file') {
    // A file URL is a local path in disguise: same confinement as any other path.
    try {
      path = fileURLToPath(trimmed);
    } catch {
      throw new InputError(`refused: "${redact(trimmed)}" is not a valid file URL`);
    }
  } else if (scheme !== undefined) {
    throw new InputError(
      `refused: "${redact(trimmed)}" uses ${scheme}:, only files and http(s) URLs are inputs`,
    );
  }
  return openLocalInput(path, options.policy, options.directory);
}
