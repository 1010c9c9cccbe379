import { realpath, rm } from 'node:fs/promises';
import type { Hono } from 'hono';
import { z } from 'zod';
import { runOutputDir } from '../run/index.js';
import type { AppEnv } from './app.js';
import { loadUploads, presentUpload, type ServerContext } from './context.js';
import { isInside } from './files.js';
import { notFound, readJson } from './http-errors.js';
import { presentRun } from './run-routes.js';
import { INFERENCE_MODES } from './settings.js';

/** Removes a file or folder, but only one that really lies inside `root`. */
async function removeInside(root: string, path: string): Promise<void> {
  try {
    const [realRoot, real] = await Promise.all([realpath(root), realpath(path)]);
    if (real !== realRoot && isInside(realRoot, real)) await rm(real, { recursive: true, force: true });
  } catch {
    // Already gone.
  }
}

const titleBody = z.object({ title: z.string().trim().min(1).max(200) });
const createBody = z.object({ title: z.string().trim().max(200).optional() });

const settingsBody = z.object({
  llm: z
    .object({
      baseURL: z.string().max(500).nullable().optional(),
      model: z.string().min(1).max(200).optional(),
      apiKey: z.string().max(500).nullable().optional(),
    })
    .optional(),
  inference: z.object({ mode: z.enum(INFERENCE_MODES).optional() }).optional(),
});

export function registerConversationRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  app.get('/v1/conversations', async (c) => {
    const limit = Math.min(500, Math.max(1, Number(c.req.query('limit') ?? 200) || 200));
    return c.json({ conversations: await context.store.listConversations({ limit }) });
  });

  app.post('/v1/conversations', async (c) => {
    const body = c.req.header('content-type') ? await readJson(c, createBody) : {};
    const conversation = await context.store.createConversation({
      title: body.title || 'New conversation',
      source: 'web',
    });
    return c.json(conversation, 201);
  });

  app.get('/v1/conversations/:id', async (c) => {
    const id = c.req.param('id');
    const conversation = await context.store.getConversation(id);
    if (!conversation) throw notFound(`Conversation ${id}`);
    const messages = await context.store.listMessages(id);
    const stored = await context.store.listRuns(id);
    const runs = [];
    for (const run of stored) runs.push(await presentRun(context, run.id));
    const withFiles = [];
    for (const message of messages) {
      const uploads = await loadUploads(context, message.files).catch(() => []);
      withFiles.push({ ...message, files: uploads.map((upload) => presentUpload(context, upload)) });
    }
    return c.json({ conversation, messages: withFiles, runs: runs.filter(Boolean) });
  });

  app.patch('/v1/conversations/:id', async (c) => {
    const id = c.req.param('id');
    const { title } = await readJson(c, titleBody);
    if (!(await context.store.renameConversation(id, title))) throw notFound(`Conversation ${id}`);
    return c.json(await context.store.getConversation(id));
  });

  app.delete('/v1/conversations/:id', async (c) => {
    const id = c.req.param('id');
    if (!(await context.store.getConversation(id))) throw notFound(`Conversation ${id}`);
    const runs = await context.store.listRuns(id);
    // Runs still going are stopped and saved first, so nothing they write afterwards outlives the deletion.
    const active = runs.map((run) => context.runs.get(run.id)).filter((run) => run !== undefined);
    for (const run of active) run.cancel();
    await Promise.allSettled(active.map((run) => run.done));
    const uploadIds = new Set((await context.store.listMessages(id)).flatMap((message) => message.files));
    await context.store.deleteConversation(id);
    // A deleted conversation takes its files with it: generated ones and uploads no other conversation uses.
    for (const run of runs) await removeInside(context.config.dataDir, runOutputDir(context.config, run.id));
    for (const uploadId of uploadIds) {
      if ((await context.store.countUploadUses(uploadId, id)) > 0) continue;
      const upload = await context.store.getUpload(uploadId);
      if (!upload) continue;
      await removeInside(context.uploadsDir, upload.path);
      await context.store.deleteUpload(uploadId);
    }
    return c.body(null, 204);
  });

  app.get('/v1/settings', (c) => c.json({ ...context.settings.view(), modes: INFERENCE_MODES }));

  app.put('/v1/settings', async (c) => {
    const body = await readJson(c, settingsBody);
    const view = await context.settings.update({
      ...(body.llm ? { llm: body.llm } : {}),
      ...(body.inference ? { inference: body.inference } : {}),
    } as Parameters<typeof context.settings.update>[0]);
    return c.json({ ...view, modes: INFERENCE_MODES });
  });
}
