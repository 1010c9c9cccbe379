import { extname } from 'node:path';
import { fileTypeFromBuffer, fileTypeFromFile } from 'file-type';

/**
 * Media types for what the server stores and serves, taken from the content (a ".jpg" that is really a
 * script is not an image). Kept here rather than borrowed from a pipeline stage: the server meets the
 * stages only through `run`.
 */

/** Types sniffing cannot see (no magic bytes), by extension. */
const BY_EXTENSION: Record<string, string> = {
  '.txt': 'text/plain; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.csv': 'text/csv',
};

const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg',
  'image/png': 'png',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'image/bmp': 'bmp',
  'image/tiff': 'tif',
  'image/avif': 'avif',
  'image/heic': 'heic',
  'audio/wav': 'wav',
  'audio/mpeg': 'mp3',
  'audio/flac': 'flac',
  'audio/ogg': 'ogg',
  'audio/opus': 'opus',
  'audio/mp4': 'm4a',
  'audio/aac': 'aac',
  'audio/webm': 'weba',
  'video/mp4': 'mp4',
  'video/webm': 'webm',
  'video/quicktime': 'mov',
  'video/x-matroska': 'mkv',
  'video/x-msvideo': 'avi',
};

/** One name per type: sniffing reports WAV under several aliases. */
function canonical(mimeType: string): string {
  return /^audio\/(x-wav|wave|vnd\.wave)$/.test(mimeType) ? 'audio/wav' : mimeType;
}

export async function sniffBytes(bytes: Uint8Array): Promise<string | undefined> {
  const sniffed = await fileTypeFromBuffer(bytes).catch(() => undefined);
  return sniffed ? canonical(sniffed.mime) : undefined;
}

export async function sniffFile(path: string): Promise<string> {
  const sniffed = await fileTypeFromFile(path).catch(() => undefined);
  if (sniffed) return canonical(sniffed.mime);
  return BY_EXTENSION[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export function extensionFor(mimeType: string): string {
  return (
    EXTENSIONS[mimeType] ??
    mimeType
      .split('/')[1]
      ?.replace(/[^a-z0-9]/g, '')
      .slice(0, 8) ??
    'bin'
  );
}
