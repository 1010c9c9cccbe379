import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import type { Hono } from 'hono';
import type { StagedFile } from '../queue/file-exchange.js';
import type { AppEnv } from './app.js';
import type { ServerContext } from './context.js';
import { HttpError } from './http-errors.js';

const KINDS = new Set<StagedFile['kind']>(['image', 'audio', 'video']);

/**
 * Files to and from `jarvis worker`s: the token in the path is the credential (one file, or one job's uploads,
 * until the job ends), so these routes sit before the API-key check; without `--queue` they do not exist.
 */
export function registerWorkerFileRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  const queue = context.queue;
  if (!queue) return;
  const exchange = queue.exchange;

  app.get('/v1/worker-files/:token', async (c) => {
    const file = exchange.input(c.req.param('token'));
    if (!file) throw new HttpError(404, 'Unknown or expired file link.', 'not_found_error', 'not_found');
    const info = await stat(file.path).catch(() => undefined);
    if (!info?.isFile()) throw new HttpError(404, 'The file is gone.', 'not_found_error', 'not_found');
    const body = Readable.toWeb(createReadStream(file.path)) as ReadableStream;
    return new Response(body, {
      headers: { 'content-type': file.mimeType, 'content-length': String(info.size) },
    });
  });

  app.post('/v1/worker-files/:token', async (c) => {
    const kind = c.req.query('kind') as StagedFile['kind'];
    const mimeType = c.req.query('mime') ?? '';
    const extension = c.req.query('ext') ?? '';
    if (!KINDS.has(kind) || !/^[\w.+-]+\/[\w.+-]+$/.test(mimeType) || !/^[a-z0-9]{1,10}$/i.test(extension)) {
      throw new HttpError(
        400,
        'A generated file needs ?kind=image|audio|video, a MIME type and an extension.',
        'invalid_request_error',
        'bad_upload',
      );
    }
    const limit = context.config.server.maxUploadBytes;
    const declared = Number(c.req.header('content-length') ?? '0');
    if (declared > limit)
      throw new HttpError(413, 'The file is too large.', 'invalid_request_error', 'too_large');
    const bytes = new Uint8Array(await c.req.arrayBuffer());
    if (bytes.byteLength > limit)
      throw new HttpError(413, 'The file is too large.', 'invalid_request_error', 'too_large');
    const label = c.req.query('label');
    const staged = exchange.stage(c.req.param('token'), {
      kind,
      bytes,
      mimeType,
      extension,
      ...(label ? { label: label.slice(0, 200) } : {}),
    });
    if ('refused' in staged) {
      throw new HttpError(
        staged.status,
        staged.refused,
        staged.status === 404 ? 'not_found_error' : 'invalid_request_error',
        staged.status === 404 ? 'not_found' : 'too_large',
      );
    }
    return c.json({ id: staged.id }, 201);
  });
}

/** `GET /v1/workers`: the live workers (behind the API key like every other route). */
export function registerWorkerListRoute(app: Hono<AppEnv>, context: ServerContext): void {
  app.get('/v1/workers', async (c) => {
    if (!context.queue) return c.json({ queue: false, data: [] });
    const workers = await context.queue.workers();
    return c.json({
      queue: true,
      data: workers.map((worker) => ({
        id: worker.id,
        host: worker.host,
        pid: worker.pid,
        backends: worker.backends,
        models: worker.models.map((model) => ({ backend: model.backend, id: model.id, task: model.task })),
        concurrency: worker.concurrency,
        running: worker.running,
        done: worker.done,
        startedAt: worker.startedAt,
        heartbeatAt: worker.heartbeatAt,
      })),
    });
  });
}
