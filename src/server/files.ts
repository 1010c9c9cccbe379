import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { isInside } from '../core/paths.js';
import { detectFileType, mimeTypeFromExtension } from '../media/types.js';

export { isInside } from '../core/paths.js';

/** Types a browser may show in place; anything else (HTML, SVG, scripts) is sent as a download. */
const INLINE_TYPES =
  /^(image\/(png|jpeg|gif|webp|bmp|avif)|audio\/[\w.+-]+|video\/[\w.+-]+|text\/plain|application\/json)$/;

const notFound = () =>
  new Response(
    JSON.stringify({ error: { message: 'Not found', type: 'not_found_error', code: 'not_found' } }),
    {
      status: 404,
      headers: { 'content-type': 'application/json' },
    },
  );

/**
 * Serves one file from inside `root`. The real path (symbolic links followed) must stay inside the real root,
 * so neither `..` nor a link planted in a run folder can reach anything else. Supports single byte ranges,
 * which audio and video players use to seek.
 */
export async function sendFile(
  request: Request,
  path: string,
  root: string,
  options: { mimeType?: string; cacheControl?: string; forStaticSite?: boolean } = {},
): Promise<Response> {
  let real: string;
  let realRoot: string;
  try {
    [real, realRoot] = await Promise.all([realpath(path), realpath(root)]);
  } catch {
    return notFound();
  }
  if (!isInside(realRoot, real)) return notFound();
  const info = await stat(real).catch(() => undefined);
  if (!info?.isFile()) return notFound();

  const mimeType = options.forStaticSite
    ? (mimeTypeFromExtension(real) ?? 'application/octet-stream')
    : (options.mimeType ?? (await detectFileType(real)));
  const headers = new Headers({
    'content-type': mimeType,
    'x-content-type-options': 'nosniff',
    'accept-ranges': 'bytes',
    'cache-control': options.cacheControl ?? 'private, max-age=3600',
  });
  if (!options.forStaticSite) {
    // Generated files are data, never pages: no scripts, and unknown types are downloaded, not rendered.
    headers.set('content-security-policy', "default-src 'none'; img-src 'self'; media-src 'self'; sandbox");
    if (!INLINE_TYPES.test(mimeType.split(';')[0]!.trim())) headers.set('content-disposition', 'attachment');
  }

  let start = 0;
  let end = info.size - 1;
  let status = 200;
  const range = request.headers.get('range');
  if (range && info.size > 0) {
    const match = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    if (match && (match[1] !== '' || match[2] !== '')) {
      if (match[1] === '') {
        start = Math.max(0, info.size - Number(match[2]));
      } else {
        start = Number(match[1]);
        if (match[2] !== '') end = Math.min(end, Number(match[2]));
      }
      if (start > end || start >= info.size) {
        return new Response(null, { status: 416, headers: { 'content-range': `bytes */${info.size}` } });
      }
      status = 206;
      headers.set('content-range', `bytes ${start}-${end}/${info.size}`);
    }
  }
  headers.set('content-length', String(info.size === 0 ? 0 : end - start + 1));
  if (request.method === 'HEAD' || info.size === 0) return new Response(null, { status, headers });
  const stream = Readable.toWeb(createReadStream(real, { start, end })) as ReadableStream<Uint8Array>;
  return new Response(stream, { status, headers });
}
