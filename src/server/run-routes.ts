import { join } from 'node:path';
import type { Hono } from 'hono';
import { type SSEStreamingApi, streamSSE } from 'hono/streaming';
import { z } from 'zod';
import type { RunEvent, RunResult } from '../core/events.js';
import { runOutputDir } from '../run/index.js';
import type { StoredRun } from '../store/index.js';
import type { AppEnv } from './app.js';
import { fileUrlsOf, type ServerContext, startConversationRun } from './context.js';
import { sendFile } from './files.js';
import { HttpError, notFound, readJson } from './http-errors.js';
import { summarizeEvents, withFileUrls } from './presenter.js';
import type { NumberedEvent } from './run-manager.js';

const plannedTask = z.object({
  id: z.number().int(),
  task: z.string(),
  dep: z.array(z.number().int()),
  args: z.record(z.string(), z.string()),
});

export const startRunBody = z.object({
  request: z.string().min(1).max(20_000),
  conversationId: z.string().max(100).optional(),
  files: z.array(z.string().max(100)).max(20).optional(),
  plan: z.array(plannedTask).max(50).optional(),
  select: z.enum(['llm', 'top']).optional(),
  answer: z.boolean().optional(),
});

const RUN_ID = /^[A-Za-z0-9._-]{1,100}$/;

/** A run as the API shows it: stored facts plus what its events say, with file URLs. */
export async function presentRun(context: ServerContext, runId: string) {
  const active = context.runs.get(runId);
  const stored = await context.store.getRun(runId);
  if (!stored) return undefined;
  const events: RunEvent[] = active
    ? active.events.map((numbered) => numbered.event)
    : (await context.store.listEvents(runId)).map((numbered) => numbered.event);
  const progress = summarizeEvents(events);
  const result = (stored.result as RunResult | null) ?? progress.result;
  const artifacts = await context.store.listArtifacts(runId);
  const urlOf = fileUrlsOf(context, runId);
  return withFileUrls(
    {
      id: stored.id,
      conversationId: stored.conversationId,
      status: active ? 'running' : stored.status,
      request: stored.request,
      plan: progress.plan ?? (stored.plan as StoredRun['plan']) ?? null,
      tasks: progress.tasks,
      answer: stored.answer ?? (progress.answer || null),
      error: stored.error,
      errors: result?.errors ?? progress.errors,
      usage: result?.usage ?? null,
      createdAt: stored.createdAt,
      endedAt: stored.endedAt,
      durationMs: result?.durationMs ?? null,
      artifacts: artifacts.map((artifact) => ({
        id: artifact.id,
        taskId: artifact.taskId,
        kind: artifact.kind,
        mimeType: artifact.mimeType,
        label: artifact.label,
        path: artifact.path,
      })),
      url: `/v1/runs/${runId}`,
      eventsUrl: `/v1/runs/${runId}/events`,
    },
    urlOf,
  );
}

/** SSE event names: the RunEvent type, except `run-error`, which goes out as `error`. */
function sseEventName(event: RunEvent): string {
  return event.type === 'run-error' ? 'error' : event.type;
}

async function streamRunEvents(
  context: ServerContext,
  stream: SSEStreamingApi,
  runId: string,
  afterSeq: number,
): Promise<void> {
  const urlOf = fileUrlsOf(context, runId);
  let closed = false;
  let lastSent = afterSeq;
  const send = async (numbered: NumberedEvent) => {
    if (numbered.seq <= lastSent) return;
    lastSent = numbered.seq;
    await stream.writeSSE({
      id: String(numbered.seq),
      event: sseEventName(numbered.event),
      data: JSON.stringify(withFileUrls(numbered.event, urlOf)),
    });
  };
  // Comments keep proxies and browsers from closing a stream that is quiet while a model loads.
  const heartbeat = setInterval(() => {
    if (!closed) void stream.write(': keep-alive\n\n').catch(() => {});
  }, 15_000);
  const gone = new AbortController();
  stream.onAbort(() => {
    closed = true;
    gone.abort();
  });
  try {
    const active = context.runs.get(runId);
    if (active) {
      for await (const numbered of active.follow(gone.signal)) await send(numbered);
    } else {
      for (const numbered of await context.store.listEvents(runId, afterSeq)) await send(numbered);
    }
    const finished = await context.store.getRun(runId);
    if (!closed) {
      await stream.writeSSE({
        event: 'end',
        data: JSON.stringify({ runId, status: finished?.status ?? 'unknown' }),
      });
    }
  } finally {
    clearInterval(heartbeat);
  }
}

export function registerRunRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  app.post('/v1/runs', async (c) => {
    const body = await readJson(c, startRunBody);
    const { run, conversation } = await startConversationRun(context, {
      key: c.get('key'),
      text: body.request,
      source: 'web',
      waitSignal: c.req.raw.signal,
      ...(body.conversationId ? { conversationId: body.conversationId } : {}),
      ...(body.files ? { files: body.files } : {}),
      ...(body.plan ? { plan: body.plan as never } : {}),
      ...(body.select ? { select: body.select } : {}),
      ...(body.answer === undefined ? {} : { answer: body.answer }),
    });
    c.header('location', `/v1/runs/${run.id}`);
    return c.json(
      {
        id: run.id,
        conversationId: conversation.id,
        status: 'running',
        url: `/v1/runs/${run.id}`,
        eventsUrl: `/v1/runs/${run.id}/events`,
      },
      202,
    );
  });

  app.get('/v1/runs/:id', async (c) => {
    const id = c.req.param('id');
    const view = RUN_ID.test(id) ? await presentRun(context, id) : undefined;
    if (!view) throw notFound(`Run ${id}`);
    return c.json(view);
  });

  app.get('/v1/runs/:id/events', async (c) => {
    const id = c.req.param('id');
    if (!RUN_ID.test(id) || !(await context.store.getRun(id))) throw notFound(`Run ${id}`);
    const resumeFrom = c.req.header('last-event-id') ?? c.req.query('after');
    const afterSeq = resumeFrom !== undefined && /^\d+$/.test(resumeFrom) ? Number(resumeFrom) : -1;
    c.header('x-accel-buffering', 'no');
    return streamSSE(c, (stream) => streamRunEvents(context, stream, id, afterSeq));
  });

  const cancel = async (id: string) => {
    const active = RUN_ID.test(id) ? context.runs.get(id) : undefined;
    if (!active) {
      const stored = RUN_ID.test(id) ? await context.store.getRun(id) : undefined;
      if (!stored) throw notFound(`Run ${id}`);
      throw new HttpError(
        409,
        `Run ${id} has already ended (${stored.status}).`,
        'invalid_request_error',
        'run_ended',
      );
    }
    active.cancel();
    const outcome = await active.done;
    return { id, status: outcome.status };
  };
  app.post('/v1/runs/:id/cancel', async (c) => c.json(await cancel(c.req.param('id'))));
  app.delete('/v1/runs/:id', async (c) => c.json(await cancel(c.req.param('id'))));

  app.on(['GET', 'HEAD'], '/v1/runs/:id/files/*', async (c) => {
    const id = c.req.param('id');
    if (!RUN_ID.test(id)) throw notFound('File');
    const prefix = `/v1/runs/${encodeURIComponent(id)}/files/`;
    const pathname = new URL(c.req.url).pathname;
    if (!pathname.startsWith(prefix)) throw notFound('File');
    const segments = pathname
      .slice(prefix.length)
      .split('/')
      .map((segment) => {
        try {
          return decodeURIComponent(segment);
        } catch {
          return '..';
        }
      });
    if (
      segments.some(
        (segment) => segment === '' || segment === '.' || segment === '..' || /[\\/\0]/.test(segment),
      )
    ) {
      throw notFound('File');
    }
    const root = runOutputDir(context.config, id);
    return sendFile(c.req.raw, join(root, ...segments), root);
  });
}
