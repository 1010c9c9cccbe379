import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { imageSizeProblem } from '../core/media-limits.js';
import { extensionOrSubtype, sniffBytesType } from '../media/types.js';
import { newId, type StoredUpload } from '../store/index.js';
import type { AppEnv } from './app.js';
import { presentUpload, type ServerContext } from './context.js';
import { sendFile } from './files.js';
import { badRequest, HttpError, notFound } from './http-errors.js';

const MEDIA_KINDS = ['image', 'audio', 'video'] as const;

const tooLarge = (limit: number) =>
  new HttpError(
    413,
    `The upload is larger than the limit of ${Math.round(limit / 1024 / 1024)} MiB (server.maxUploadBytes).`,
    'invalid_request_error',
    'upload_too_large',
  );

/**
 * Refuses an image whose header declares more than `MAX_IMAGE_PIXELS`: memory follows pixels, not bytes
 * (a 746 KB PNG of 16000×16000 passes the byte limit and takes over 1 GB to decode). sharp's metadata reads
 * only the header. An image sharp cannot read is accepted as before: a remote expert may still take it,
 * and every local decoder checks again.
 */
async function refuseOversizedImage(bytes: Uint8Array, name: string): Promise<void> {
  const { default: sharp } = await import('sharp');
  const meta = await sharp(bytes)
    .metadata()
    .catch(() => undefined);
  const problem = meta && imageSizeProblem(meta.width ?? 0, meta.height ?? 0);
  if (problem) throw new HttpError(413, `"${name}": ${problem}.`, 'invalid_request_error', 'image_too_large');
}

/**
 * Saves uploaded bytes as `<uploads>/<id>.<ext>`. The type comes from the content (a script renamed to
 * `.jpg` is refused), and the user's file name is kept only as a label, never as a path.
 */
export async function saveUpload(
  context: ServerContext,
  bytes: Uint8Array,
  name: string,
): Promise<StoredUpload> {
  const limit = context.config.server.maxUploadBytes;
  if (bytes.byteLength > limit) throw tooLarge(limit);
  if (bytes.byteLength === 0) throw badRequest(`The file "${name}" is empty.`, 'empty_upload');
  const mimeType = await sniffBytesType(bytes);
  const kind = MEDIA_KINDS.find((candidate) => mimeType?.startsWith(`${candidate}/`));
  if (!mimeType || !kind) {
    throw new HttpError(
      415,
      `"${name}" is not an image, audio or video file (its content looks like ${mimeType ?? 'nothing known'}).`,
      'invalid_request_error',
      'unsupported_file_type',
    );
  }
  if (kind === 'image') await refuseOversizedImage(bytes, name);
  await mkdir(context.uploadsDir, { recursive: true });
  const id = newId('u');
  const path = join(context.uploadsDir, `${id}.${extensionOrSubtype(mimeType)}`);
  await writeFile(path, bytes, { flag: 'wx', mode: 0o600 });
  return context.store.addUpload({
    id,
    name: name.slice(0, 200),
    path,
    mimeType,
    kind,
    size: bytes.byteLength,
  });
}

export function registerUploadRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  // sharp reads image headers for the pixel check here and in every image task. Importing it holds the
  // event loop ~160 ms (its native binding loads synchronously): paid once as the server starts, not by
  // whichever request first brings an image while others wait.
  setImmediate(() => {
    import('sharp').catch(() => {});
  });
  const limit = context.config.server.maxUploadBytes;
  app.post(
    '/v1/uploads',
    // Room for a few files' multipart framing on top of the per-file limit.
    bodyLimit({
      maxSize: limit + 64 * 1024,
      onError: () => {
        throw tooLarge(limit);
      },
    }),
    async (c) => {
      const type = c.req.header('content-type') ?? '';
      if (!/^multipart\/form-data\b/i.test(type)) {
        throw new HttpError(
          415,
          'Send files as multipart/form-data (field "file").',
          'invalid_request_error',
          'unsupported_media_type',
        );
      }
      const form = await c.req.formData().catch(() => {
        throw badRequest('The multipart body could not be read.', 'invalid_multipart');
      });
      const files = [...form.getAll('file'), ...form.getAll('files')].filter(
        (value): value is File => typeof value !== 'string',
      );
      if (files.length === 0)
        throw badRequest('No file in the form: send it in a field named "file".', 'no_file');
      const saved: StoredUpload[] = [];
      for (const file of files) {
        saved.push(
          await saveUpload(context, new Uint8Array(await file.arrayBuffer()), file.name || 'upload'),
        );
      }
      return c.json({ uploads: saved.map((upload) => presentUpload(context, upload)) }, 201);
    },
  );

  app.get('/v1/uploads/:id', async (c) => {
    const upload = await context.store.getUpload(c.req.param('id'));
    if (!upload) throw notFound('Upload');
    return c.json(presentUpload(context, upload));
  });

  app.on(['GET', 'HEAD'], '/v1/uploads/:id/content', async (c) => {
    const upload = await context.store.getUpload(c.req.param('id'));
    if (!upload) throw notFound('Upload');
    return sendFile(c.req.raw, upload.path, context.uploadsDir, { mimeType: upload.mimeType });
  });
}
