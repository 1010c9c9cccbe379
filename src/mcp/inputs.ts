import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JarvisConfig } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import { extensionForMimeType, sniffBytesType } from '../media/types.js';
import { runOutputDir } from '../run/index.js';

export type FileArgumentKind = 'image' | 'audio' | 'video';

/** `jarvis://runs/<id>/<file>`: a file a run generated, offered as an MCP resource. */
const RUN_FILE_URI = /^jarvis:\/\/runs\/([^/]+)\/([^/]+)$/;
const SAFE_SEGMENT = /^[A-Za-z0-9._-]+$/;

export function runFileUri(runId: string, file: string): string {
  return `jarvis://runs/${encodeURIComponent(runId)}/${encodeURIComponent(file)}`;
}

/** The run and file a `jarvis://runs/...` URI names, or undefined for a URI of another shape. */
export function parseRunFileUri(uri: string): { runId: string; file: string } | undefined {
  const match = RUN_FILE_URI.exec(uri);
  if (!match) return undefined;
  let runId: string;
  let file: string;
  try {
    runId = decodeURIComponent(match[1]!);
    file = decodeURIComponent(match[2]!);
  } catch {
    return undefined;
  }
  // One plain name each: never a way up or across folders.
  if (!SAFE_SEGMENT.test(runId) || !SAFE_SEGMENT.test(file) || runId.startsWith('.') || file.startsWith('.'))
    return undefined;
  return { runId, file };
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:([^;,]*)(;[^,]*)?,/i;

/**
 * Files given inline (base64 content or a `data:` URL) are written to a private folder for the one call that
 * carries them: the run may read them because they are named to it, not because the folder is allowed.
 */
export class InlineFiles {
  readonly paths: string[] = [];
  private folder: string | undefined;

  constructor(
    private readonly config: JarvisConfig,
    private readonly maxBytes: number,
  ) {}

  /** Decodes and writes one inline file; returns its path. */
  async add(argument: string, encoded: string, kind: FileArgumentKind): Promise<string> {
    let base64 = encoded;
    const dataUrl = DATA_URL.exec(encoded);
    if (dataUrl) {
      if (!/;base64/i.test(dataUrl[2] ?? '')) {
        throw new InputError(`${argument}: only base64 data: URLs are accepted`);
      }
      base64 = encoded.slice(dataUrl[0].length);
    }
    base64 = base64.replace(/\s+/g, '');
    if (base64.length === 0) throw new InputError(`${argument} is empty`);
    if (!BASE64.test(base64) || base64.length % 4 === 1) {
      throw new InputError(`${argument} is not base64 content`);
    }
    if (Math.floor((base64.length * 3) / 4) > this.maxBytes + 2) {
      throw new InputError(`${argument} is larger than the ${this.maxBytes}-byte limit`);
    }
    const bytes = Buffer.from(base64, 'base64');
    const sniffed = await sniffBytesType(bytes);
    if (!sniffed?.startsWith(`${kind}/`)) {
      throw new InputError(
        `${argument} does not hold ${kind === 'image' ? 'an image' : kind === 'video' ? 'a video' : 'audio'} (content is ${sniffed ?? 'unrecognised'})`,
      );
    }
    this.folder ??= join(this.config.dataDir, 'mcp', 'inputs', randomBytes(8).toString('hex'));
    await mkdir(this.folder, { recursive: true, mode: 0o700 });
    const path = join(
      this.folder,
      `${argument}-${this.paths.length}.${extensionForMimeType(sniffed) ?? 'bin'}`,
    );
    await writeFile(path, bytes, { mode: 0o600, flag: 'wx' });
    this.paths.push(path);
    return path;
  }

  async remove(): Promise<void> {
    if (this.folder) await rm(this.folder, { recursive: true, force: true });
  }
}

/**
 * The plan argument for a file argument of a tool: a path or URL is passed on as written (the executor's
 * confinement and URL rules decide), a `jarvis://runs/...` resource becomes the run file's path, and a
 * `data:` URL is staged like base64 content.
 */
export async function fileArgument(
  config: JarvisConfig,
  argument: string,
  value: string,
  kind: FileArgumentKind,
  inline: InlineFiles,
): Promise<string> {
  if (/^data:/i.test(value.trim())) return inline.add(argument, value.trim(), kind);
  if (/^jarvis:/i.test(value.trim())) {
    const parsed = parseRunFileUri(value.trim());
    if (!parsed) throw new InputError(`${argument}: "${value}" is not a jarvis://runs/<id>/<file> URI`);
    return join(runOutputDir(config, parsed.runId), parsed.file);
  }
  return value;
}
