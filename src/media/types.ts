/**
 * Media types, once for all of Jarvis (inputs, uploads, served files, backends' outputs): content sniffing by
 * `file-type` (the first bytes decide: a ".jpg" that is really a PNG is a PNG, a ".png" that is a script is
 * not an image), one table for what has no magic bytes and for the file extension each type is written with.
 */
import { extname } from 'node:path';

/** Extension -> type, for files whose first bytes identify nothing, and for the static web UI. */
const TYPE_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  gif: 'image/gif',
  webp: 'image/webp',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  svg: 'image/svg+xml',
  avif: 'image/avif',
  heic: 'image/heic',
  ico: 'image/x-icon',
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/opus',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  weba: 'audio/webm',
  webm: 'video/webm',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  txt: 'text/plain; charset=utf-8',
  csv: 'text/csv',
  json: 'application/json',
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  mjs: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  webmanifest: 'application/manifest+json',
  woff2: 'font/woff2',
};

/** Type -> the extension a file of that type is written with (the first one listed above, unless named here). */
const EXTENSION_BY_TYPE: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/tiff': 'tif',
  'audio/ogg': 'ogg',
  'video/mp4': 'mp4',
};
for (const [extension, type] of Object.entries(TYPE_BY_EXTENSION)) {
  const bare = type.split(';')[0]!;
  EXTENSION_BY_TYPE[bare] ??= extension;
}

/** One name per type: sniffers and servers report WAV under several aliases. */
export function canonicalMimeType(mimeType: string): string {
  const bare = mimeType.split(';')[0]!.trim().toLowerCase();
  return /^audio\/(x-wav|wave|vnd\.wave)$/.test(bare) ? 'audio/wav' : bare;
}

/** The type a file name's extension stands for, or undefined. */
export function mimeTypeFromExtension(path: string): string | undefined {
  return TYPE_BY_EXTENSION[extname(path).slice(1).toLowerCase()];
}

/** The extension to write a file of this type with ("image/png" -> "png"), or undefined when there is none. */
export function extensionForMimeType(mimeType: string): string | undefined {
  return EXTENSION_BY_TYPE[canonicalMimeType(mimeType)];
}

/** Like `extensionForMimeType`, falling back to the subtype ("image/x-foo" -> "xfoo") or `fallback`. */
export function extensionOrSubtype(mimeType: string, fallback = 'bin'): string {
  return (
    extensionForMimeType(mimeType) ??
    (canonicalMimeType(mimeType)
      .split('/')[1]
      ?.replace(/[^a-z0-9]/g, '')
      .slice(0, 10) ||
      fallback)
  );
}

/** The type a file's first bytes identify, or undefined when they identify nothing. */
export async function sniffFileType(path: string): Promise<string | undefined> {
  // file-type is imported on first use: a run without input files never needs it.
  const { fileTypeFromFile } = await import('file-type');
  const sniffed = await fileTypeFromFile(path).catch(() => undefined);
  return sniffed ? canonicalMimeType(sniffed.mime) : undefined;
}

export async function sniffBytesType(bytes: Uint8Array): Promise<string | undefined> {
  const { fileTypeFromBuffer } = await import('file-type');
  const sniffed = await fileTypeFromBuffer(bytes).catch(() => undefined);
  return sniffed ? canonicalMimeType(sniffed.mime) : undefined;
}

/** A file's type: from its content where the first bytes identify it, else from its extension. */
export async function detectFileType(path: string): Promise<string> {
  return (await sniffFileType(path)) ?? mimeTypeFromExtension(path) ?? 'application/octet-stream';
}

/**
 * What to tell a user whose file a decoder could not read: the file by its name, what kind it should have
 * been, and "truncated or damaged" when the decoder says the data ended early or does not add up.
 */
export function unreadableFileMessage(
  path: string,
  kind: 'image' | 'audio' | 'video',
  error: unknown,
): string {
  const detail = (error instanceof Error ? error.message : String(error)).split('\n')[0]!.slice(0, 200);
  const name = path.split(/[\\/]/).at(-1) ?? path;
  const damaged =
    /premature end|truncat|unexpected end|corrupt|invalid data|bad (huffman|marker)|not enough data/i;
  return damaged.test(detail)
    ? `${name} cannot be read as ${kind === 'image' ? 'an image' : kind}: the file is truncated or damaged (${detail})`
    : `${name} cannot be read as ${kind === 'image' ? 'an image' : kind} (${detail})`;
}
