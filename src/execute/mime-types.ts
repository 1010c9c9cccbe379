import { extname } from 'node:path';

/** Media types by file extension, for files whose first bytes say nothing (plain text, odd containers). */
const BY_EXTENSION: Record<string, string> = {
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
  wav: 'audio/wav',
  mp3: 'audio/mpeg',
  flac: 'audio/flac',
  ogg: 'audio/ogg',
  oga: 'audio/ogg',
  opus: 'audio/opus',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  webm: 'video/webm',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  txt: 'text/plain',
  json: 'application/json',
};

const EXTENSION_BY_TYPE: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/svg+xml': 'svg',
  'audio/mpeg': 'mp3',
  'audio/x-wav': 'wav',
  'audio/wave': 'wav',
  'audio/vnd.wave': 'wav',
  'video/quicktime': 'mov',
  'video/x-matroska': 'mkv',
  'video/x-msvideo': 'avi',
};

export function mimeTypeFromExtension(path: string): string | undefined {
  return BY_EXTENSION[extname(path).slice(1).toLowerCase()];
}

/** A file extension for a media type ("image/png" -> "png"), or undefined when there is no obvious one. */
export function extensionForMimeType(mimeType: string): string | undefined {
  const bare = mimeType.split(';')[0]!.trim().toLowerCase();
  const known = EXTENSION_BY_TYPE[bare];
  if (known) return known;
  for (const [extension, type] of Object.entries(BY_EXTENSION)) if (type === bare) return extension;
  return undefined;
}

/** Canonical names for the types sniffing reports under a non-standard alias. */
function canonical(mimeType: string): string {
  return mimeType === 'audio/x-wav' || mimeType === 'audio/wave' || mimeType === 'audio/vnd.wave'
    ? 'audio/wav'
    : mimeType;
}

/**
 * The media type of a file: from its content where the first bytes identify it (a ".jpg" that is really a
 * PNG is reported as PNG, because that is what a decoder will see), else from its extension.
 */
export async function detectMimeType(path: string): Promise<string> {
  return (await sniffMimeType(path)) ?? mimeTypeFromExtension(path) ?? 'application/octet-stream';
}

/** The media type the file's first bytes identify, or undefined when they identify nothing. */
export async function sniffMimeType(path: string): Promise<string | undefined> {
  // file-type and its readers are imported on first use: a run without input files never needs them.
  const { fileTypeFromFile } = await import('file-type');
  const sniffed = await fileTypeFromFile(path).catch(() => undefined);
  return sniffed ? canonical(sniffed.mime) : undefined;
}

export async function detectMimeTypeOfBytes(bytes: Uint8Array): Promise<string | undefined> {
  const { fileTypeFromBuffer } = await import('file-type');
  const sniffed = await fileTypeFromBuffer(bytes).catch(() => undefined);
  return sniffed ? canonical(sniffed.mime) : undefined;
}
