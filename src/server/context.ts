import type { JarvisConfig } from '../config/schema.js';
import { InputError } from '../core/errors.js';
import type { RunResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage } from '../core/llm.js';
import type { QueueDispatcher } from '../queue/dispatcher.js';
import { historyEntry } from '../run/history.js';
import type { Jarvis } from '../run/index.js';
import { runOutputDir } from '../run/index.js';
import {
  type Conversation,
  newId,
  type Store,
  type StoredMessage,
  type StoredUpload,
} from '../store/index.js';
import type { Slot } from './admission.js';
import { uploadNames } from './file-names.js';
import type { ServerMetrics } from './metrics.js';
import { type FileUrlResolver, runFileResolver } from './presenter.js';
import type { ActiveRun, RunManager } from './run-manager.js';
import type { createUrlSigner } from './security.js';
import type { SettingsController } from './settings.js';
import { createRunWorkspace } from './workspace.js';

/** Everything the routes share. */
export interface ServerContext {
  readonly config: JarvisConfig;
  readonly store: Store;
  readonly runs: RunManager;
  readonly settings: SettingsController;
  /** Where uploaded files are kept (inside the data folder). */
  readonly uploadsDir: string;
  /** The built web UI, if there is one. */
  readonly webRoot: string | undefined;
  readonly signer: ReturnType<typeof createUrlSigner>;
  /** CPU, memory and event-loop delay of this process (`GET /v1/metrics`). */
  readonly metrics: ServerMetrics;
  /** Set with `--queue`: tasks go to `jarvis worker`s through BullMQ. */
  readonly queue?: QueueDispatcher;
  jarvis(): Jarvis;
}

/** The URL resolver for the files of one run. */
export function fileUrlsOf(context: ServerContext, runId: string): FileUrlResolver {
  return runFileResolver(
    runId,
    runOutputDir(context.config, runId),
    context.signer.sign,
    context.config.dataDir,
  );
}

export function uploadUrl(context: ServerContext, id: string): string {
  return context.signer.sign(`/v1/uploads/${encodeURIComponent(id)}/content`);
}

export function presentUpload(context: ServerContext, upload: StoredUpload) {
  return {
    id: upload.id,
    name: upload.name,
    kind: upload.kind,
    mimeType: upload.mimeType,
    size: upload.size,
    url: uploadUrl(context, upload.id),
  };
}

/**
 * The request the planner sees: the user's words plus the attached files, named as the user knows them
 * (`kite.jpg`, linked under that name in the run's working folder), which is also how later turns and answers
 * refer to them.
 */
export function requestWithAttachments(
  text: string,
  uploads: readonly StoredUpload[],
  names: ReadonlyMap<string, string>,
): string {
  if (uploads.length === 0) return text;
  const lines = uploads.map((upload) => `- ${upload.kind}: ${names.get(upload.id) ?? upload.name}`);
  return `${text}\n\nAttached files:\n${lines.join('\n')}`;
}

/**
 * A conversation's messages (when its history is built from them), every upload in it (oldest first, plus
 * `adding`) and the names they go by.
 */
interface ConversationFiles {
  messages: StoredMessage[];
  uploads: StoredUpload[];
  names: Map<string, string>;
}

/** Read once per turn: the history, the workspace and the attachment list all come from it. */
async function conversationFiles(
  context: ServerContext,
  conversationId: string | undefined,
  adding: readonly StoredUpload[],
  withMessages: boolean,
): Promise<ConversationFiles> {
  // A client that sends the history itself (OpenAI-style) needs only the files of the stored messages.
  const messages = conversationId && withMessages ? await context.store.listMessages(conversationId) : [];
  const fileIds = !conversationId
    ? []
    : withMessages
      ? messages.flatMap((message) => message.files)
      : await context.store.listMessageFiles(conversationId);
  // An upload removed since is left out alone; the rest of the conversation's files stay.
  const earlier: StoredUpload[] = [];
  for (const id of fileIds) {
    const upload = await context.store.getUpload(id);
    if (upload) earlier.push(upload);
  }
  const uploads = [...earlier, ...adding];
  return { messages, uploads, names: uploadNames(uploads) };
}

export async function loadUploads(context: ServerContext, ids: readonly string[]): Promise<StoredUpload[]> {
  const uploads: StoredUpload[] = [];
  for (const id of ids) {
    const upload = await context.store.getUpload(id);
    if (!upload) throw new InputError(`No such upload: ${id}. Upload the file first (POST /v1/uploads).`);
    uploads.push(upload);
  }
  return uploads;
}

/** Earlier turns of a conversation as the planner should see them: requests and what each run produced. */
async function conversationHistory(
  context: ServerContext,
  conversationId: string,
  files: ConversationFiles,
): Promise<ChatMessage[]> {
  const cwd = context.config.dataDir;
  const runs = new Map((await context.store.listRuns(conversationId)).map((run) => [run.id, run]));
  const byId = new Map(files.uploads.map((upload) => [upload.id, upload]));
  const history: ChatMessage[] = [];
  for (const message of files.messages) {
    if (message.role === 'user') {
      const uploads = message.files.flatMap((id) => byId.get(id) ?? []);
      history.push({ role: 'user', content: requestWithAttachments(message.content, uploads, files.names) });
      continue;
    }
    const run = message.runId ? runs.get(message.runId) : undefined;
    const result = run?.result as RunResult | null | undefined;
    history.push({ role: 'assistant', content: result ? historyEntry(result, cwd) : message.content });
  }
  return history;
}

export interface ConversationRunInput {
  key: string;
  text: string;
  conversationId?: string;
  /** Used for a new conversation. */
  source: string;
  files?: string[];
  /** History given by the client (OpenAI-style requests carry their own); else the stored conversation's. */
  history?: ChatMessage[];
  plan?: TaskGraph;
  select?: 'llm' | 'top';
  answer?: boolean;
  /** Aborts the run (a client that went away), and the wait for a slot. */
  signal?: AbortSignal;
  /** Aborts only the wait for a slot: a request whose run goes on without its client (`POST /v1/runs`). */
  waitSignal?: AbortSignal;
}

const titleOf = (text: string) => {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 60 ? `${line.slice(0, 59)}…` : line || 'New conversation';
};

/** Starts a run as one turn of a conversation (created when none is named), saving the user's message. */
export async function startConversationRun(
  context: ServerContext,
  input: ConversationRunInput,
): Promise<{ run: ActiveRun; conversation: Conversation }> {
  const uploads = await loadUploads(context, input.files ?? []);
  // A request that waits for a slot holds nothing else meanwhile: history, workspace and rows come after.
  const slot = await context.runs.admit(input.key, input.signal ?? input.waitSignal);
  try {
    return await startInSlot(context, input, uploads, slot);
  } catch (error) {
    slot.release();
    throw error;
  }
}

async function startInSlot(
  context: ServerContext,
  input: ConversationRunInput,
  uploads: StoredUpload[],
  slot: Slot,
): Promise<{ run: ActiveRun; conversation: Conversation }> {
  let conversation: Conversation | undefined;
  if (input.conversationId) {
    conversation = await context.store.getConversation(input.conversationId);
    if (!conversation) throw new InputError(`No such conversation: ${input.conversationId}`);
  }
  const files = await conversationFiles(context, conversation?.id, uploads, input.history === undefined);
  const history =
    input.history ?? (conversation ? await conversationHistory(context, conversation.id, files) : []);
  // A run may read its own conversation's uploads and earlier runs' files, and nothing else of the data folder.
  const earlierRuns = conversation ? await context.store.listRunIds(conversation.id) : [];
  const workspace = await createRunWorkspace(
    context.config,
    files.uploads.map((upload) => ({ path: upload.path, name: files.names.get(upload.id)! })),
    earlierRuns,
  );
  const existing = conversation;
  let created: Conversation | undefined;
  const run = await context.runs
    .start({
      // The conversation and the user's message are written only once the run has started, so a request that
      // fails before leaves nothing behind.
      beforeStart: async (runId) => {
        const conversationId = existing?.id ?? newId('c');
        // Asked for together, so committed together: the store applies writes in the order they are asked for.
        const [conversation] = await Promise.all([
          existing ??
            context.store.createConversation({
              id: conversationId,
              title: titleOf(input.text),
              source: input.source,
            }),
          context.store.addMessage({
            conversationId,
            role: 'user',
            content: input.text,
            runId,
            files: uploads.map((upload) => upload.id),
          }),
        ]);
        created = conversation;
        return { conversationId };
      },
      key: input.key,
      slot,
      request: requestWithAttachments(input.text, uploads, files.names),
      history,
      inputFiles: workspace.inputFiles,
      allowedDirs: workspace.allowedDirs,
      cwd: workspace.cwd,
      ...(input.plan ? { plan: input.plan } : {}),
      ...(input.select ? { select: input.select } : {}),
      ...(input.answer === undefined ? {} : { answer: input.answer }),
      ...(input.signal ? { signal: input.signal } : {}),
    })
    .catch(async (error: unknown) => {
      await workspace.remove();
      throw error;
    });
  void run.done.finally(() => workspace.remove().catch(() => {}));
  return { run, conversation: created! };
}
