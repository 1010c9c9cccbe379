import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'libsql';
import { ConfigError } from '../core/errors.js';
import type { RunEvent } from '../core/events.js';
import type { Artifact } from '../core/output.js';
import { statementCache } from './statements.js';
import type {
  Conversation,
  RunStatus,
  StoredArtifact,
  StoredEvent,
  StoredMessage,
  StoredRun,
  StoredUpload,
} from './types.js';
import { startWriter, type Writer, type WriteStatement } from './writer.js';

/**
 * Persistence for the server: conversations, their messages, runs with their events, the artifacts runs
 * wrote and the files users uploaded. One SQLite file (through libsql, which installs prebuilt), so a
 * restart of the server finds everything again.
 */

export type * from './types.js';

/**
 * Writes are applied in the order they are asked for (the call, not its promise's settling, fixes the order),
 * and those asked for together are committed together; a write's promise resolves once it is committed.
 */
export interface Store {
  /** The database file. */
  readonly path: string;
  createConversation(input: { id?: string; title: string; source?: string }): Promise<Conversation>;
  /** Most recently active first. */
  listConversations(options?: { limit?: number }): Promise<Conversation[]>;
  getConversation(id: string): Promise<Conversation | undefined>;
  renameConversation(id: string, title: string): Promise<boolean>;
  /** Removes the conversation with its messages, runs, events and artifact records. */
  deleteConversation(id: string): Promise<boolean>;
  addMessage(input: {
    conversationId: string;
    role: StoredMessage['role'];
    content: string;
    runId?: string;
    files?: string[];
  }): Promise<StoredMessage>;
  listMessages(conversationId: string): Promise<StoredMessage[]>;
  /** The uploads the conversation's messages attach, oldest first (without reading the messages). */
  listMessageFiles(conversationId: string): Promise<string[]>;
  createRun(input: { id: string; conversationId?: string; request: string }): Promise<StoredRun>;
  setRunPlan(id: string, plan: unknown): Promise<void>;
  finishRun(
    id: string,
    outcome: {
      status: Exclude<RunStatus, 'running'>;
      result?: unknown;
      answer?: string | null;
      error?: { code: string; message: string } | null;
    },
  ): Promise<void>;
  getRun(id: string): Promise<StoredRun | undefined>;
  listRuns(conversationId: string): Promise<StoredRun[]>;
  /** The ids of a conversation's runs, oldest first, without reading their results. */
  listRunIds(conversationId: string): Promise<string[]>;
  appendEvent(runId: string, seq: number, event: RunEvent): Promise<void>;
  /** Several events in one transaction (one disk sync instead of one per event). */
  appendEvents(runId: string, events: readonly StoredEvent[]): Promise<void>;
  listEvents(runId: string, afterSeq?: number): Promise<StoredEvent[]>;
  addArtifact(input: { runId: string; taskId: number | null; artifact: Artifact }): Promise<StoredArtifact>;
  getArtifact(id: string): Promise<StoredArtifact | undefined>;
  listArtifacts(runId: string): Promise<StoredArtifact[]>;
  addUpload(input: Omit<StoredUpload, 'createdAt' | 'id'> & { id?: string }): Promise<StoredUpload>;
  getUpload(id: string): Promise<StoredUpload | undefined>;
  deleteUpload(id: string): Promise<boolean>;
  /** How many messages outside `exceptConversationId` attach the upload. */
  countUploadUses(id: string, exceptConversationId: string): Promise<number>;
  /**
   * A conversation continued by clients that resend the whole history (OpenAI-style) is found again by a key
   * derived from that history.
   */
  setConversationKey(id: string, key: string): Promise<void>;
  findConversationByKey(key: string): Promise<Conversation | undefined>;
  getSetting<T>(key: string): Promise<T | undefined>;
  setSetting(key: string, value: unknown): Promise<void>;
  /** Marks runs left "running" by a process that stopped as "interrupted"; returns how many. */
  markInterruptedRuns(): Promise<number>;
  /** Runs whose status is "running": at start, those a stopped process left behind. */
  listRunningRunIds(): Promise<string[]>;
  close(): Promise<void>;
}

/** Short, sortable, unguessable ids ("c_lq2k3f9a_3f9ad0c1b2e4"): time first so lists sort by creation. */
export function newId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}_${randomBytes(6).toString('hex')}`;
}

const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, source TEXT NOT NULL,
    created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL)`,
  `CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL, role TEXT NOT NULL,
    content TEXT NOT NULL, run_id TEXT, files TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS messages_by_conversation ON messages (conversation_id, id)',
  `CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY, conversation_id TEXT, request TEXT NOT NULL, status TEXT NOT NULL,
    plan TEXT, result TEXT, answer TEXT, error TEXT, created_at INTEGER NOT NULL, ended_at INTEGER)`,
  'CREATE INDEX IF NOT EXISTS runs_by_conversation ON runs (conversation_id, created_at)',
  `CREATE TABLE IF NOT EXISTS run_events (
    run_id TEXT NOT NULL, seq INTEGER NOT NULL, type TEXT NOT NULL, data TEXT NOT NULL, at INTEGER NOT NULL,
    PRIMARY KEY (run_id, seq))`,
  `CREATE TABLE IF NOT EXISTS artifacts (
    id TEXT PRIMARY KEY, run_id TEXT NOT NULL, task_id INTEGER, kind TEXT NOT NULL, path TEXT NOT NULL,
    mime_type TEXT NOT NULL, label TEXT, created_at INTEGER NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS artifacts_by_run ON artifacts (run_id)',
  `CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, path TEXT NOT NULL, mime_type TEXT NOT NULL, kind TEXT NOT NULL,
    size INTEGER NOT NULL, created_at INTEGER NOT NULL)`,
  'CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL)',
];

/** Columns added after the first release of the schema: [table, column, definition]. */
const ADDED_COLUMNS: [string, string, string][] = [['conversations', 'thread_key', 'TEXT']];

/** A row as the driver gives it: column name to value. */
type Row = Record<string, unknown>;

const text = (row: Row, column: string): string => String(row[column]);
const nullableText = (row: Row, column: string): string | null =>
  row[column] === null || row[column] === undefined ? null : String(row[column]);
const json = (value: unknown): unknown =>
  value === null || value === undefined ? null : JSON.parse(String(value));

const insertEvent = (runId: string, { seq, event }: StoredEvent): WriteStatement => ({
  sql: 'INSERT OR REPLACE INTO run_events (run_id, seq, type, data, at) VALUES (?, ?, ?, ?, ?)',
  args: [runId, seq, event.type, JSON.stringify(event), event.at],
});

function toConversation(row: Row): Conversation {
  return {
    id: text(row, 'id'),
    title: text(row, 'title'),
    source: text(row, 'source'),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

function toMessage(row: Row): StoredMessage {
  return {
    id: Number(row.id),
    conversationId: text(row, 'conversation_id'),
    role: text(row, 'role') as StoredMessage['role'],
    content: text(row, 'content'),
    runId: nullableText(row, 'run_id'),
    files: json(row.files) as string[],
    createdAt: Number(row.created_at),
  };
}

function toRun(row: Row): StoredRun {
  return {
    id: text(row, 'id'),
    conversationId: nullableText(row, 'conversation_id'),
    request: text(row, 'request'),
    status: text(row, 'status') as RunStatus,
    plan: json(row.plan),
    result: json(row.result),
    answer: nullableText(row, 'answer'),
    error: json(row.error) as StoredRun['error'],
    createdAt: Number(row.created_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
  };
}

function toArtifact(row: Row): StoredArtifact {
  return {
    id: text(row, 'id'),
    runId: text(row, 'run_id'),
    taskId: row.task_id === null ? null : Number(row.task_id),
    kind: text(row, 'kind') as StoredArtifact['kind'],
    path: text(row, 'path'),
    mimeType: text(row, 'mime_type'),
    label: nullableText(row, 'label'),
    createdAt: Number(row.created_at),
  };
}

function toUpload(row: Row): StoredUpload {
  return {
    id: text(row, 'id'),
    name: text(row, 'name'),
    path: text(row, 'path'),
    mimeType: text(row, 'mime_type'),
    kind: text(row, 'kind') as StoredUpload['kind'],
    size: Number(row.size),
    createdAt: Number(row.created_at),
  };
}

/** Opens (and creates, with its folder) the database at `path`. */
/** Why the database could not be opened, as one line that says what to change (not a stack trace). */
function cannotOpen(file: string, error: unknown): ConfigError {
  const code = (error as NodeJS.ErrnoException).code;
  const fix =
    'Set dataDir (JARVIS_DATA_DIR, --data-dir) or server.database (JARVIS_DATABASE) to a usable place.';
  if (code === 'EEXIST' || code === 'ENOTDIR') {
    return new ConfigError(
      `Cannot create the database ${file}: a file is in the way of its folder ${dirname(file)}. ${fix}`,
    );
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new ConfigError(`Cannot create the database ${file}: permission denied. ${fix}`);
  }
  const message = error instanceof Error ? error.message : String(error);
  return new ConfigError(`Cannot open the database ${file}: ${message.split('\n')[0]}. ${fix}`);
}

export async function openStore(path: string): Promise<Store> {
  const file = resolve(path);
  try {
    mkdirSync(dirname(file), { recursive: true });
  } catch (error) {
    throw cannotOpen(file, error);
  }
  let db: Database.Database;
  try {
    db = new Database(file);
  } catch (error) {
    throw cannotOpen(file, error);
  }
  try {
    // WAL lets the web UI read while a run writes its events; a busy timeout rides out a second process.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA busy_timeout = 5000');
    // With WAL, NORMAL syncs at checkpoints rather than on every commit: a power cut may lose the last
    // moments, never consistency, and a busy server no longer waits on the disk for every event. A commit is
    // in the operating system's hands at once, so it survives the process being killed.
    db.exec('PRAGMA synchronous = NORMAL');
    db.transaction(() => {
      for (const statement of SCHEMA) db.exec(statement);
    })();
    for (const [table, column, definition] of ADDED_COLUMNS) {
      const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Row[]).map((row) =>
        String(row.name),
      );
      if (!columns.includes(column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
    }
    db.exec('CREATE INDEX IF NOT EXISTS conversations_by_thread_key ON conversations (thread_key)');
  } catch (error) {
    db.close();
    throw cannotOpen(file, error);
  }
  try {
    chmodSync(file, 0o600);
  } catch {
    // Not ours to change (a shared file); its owner decides.
  }

  const statement = statementCache(db);

  /**
   * Writes go to the writer thread (writer.ts): those asked for within one turn of the event loop (every run's
   * events, messages and rows) go into one transaction, committed before any of them resolves. So an
   * acknowledged write is on disk, a busy server commits a few times per tick instead of once per statement,
   * and neither commits nor the checkpoints that sync the file hold the event loop.
   */
  let writer: Writer;
  try {
    writer = await startWriter(file);
  } catch (error) {
    db.close();
    throw cannotOpen(file, error);
  }
  const write = (statements: readonly WriteStatement[]) => writer.write(statements);
  /** The rows the write's last statement changed. */
  const changed = async (statements: readonly WriteStatement[]) =>
    (await write(statements)).changes.at(-1) ?? 0;
  const sql = (text: string, ...args: unknown[]): WriteStatement => ({ sql: text, args });

  /**
   * Reads see what is committed: a write is visible once its promise resolves (at the end of the event-loop
   * turn that asked for it). Committing pending writes before every read would split the batches again.
   */
  const rows = async (sql: string, args: unknown[] = []): Promise<Row[]> => statement(sql).all(args) as Row[];

  /** The first row `sql` finds, as `toRecord` makes it, or undefined where there is none. */
  const first = async <T>(
    toRecord: (row: Row) => T,
    sql: string,
    args: unknown[],
  ): Promise<T | undefined> => {
    const [row] = await rows(sql, args);
    return row ? toRecord(row) : undefined;
  };

  const touch = (conversationId: string, at: number) =>
    sql('UPDATE conversations SET updated_at = ? WHERE id = ?', at, conversationId);

  return {
    path: file,

    async createConversation(input) {
      const now = Date.now();
      const conversation: Conversation = {
        id: input.id ?? newId('c'),
        title: input.title,
        source: input.source ?? 'web',
        createdAt: now,
        updatedAt: now,
      };
      await write([
        sql(
          'INSERT INTO conversations (id, title, source, created_at, updated_at) VALUES (?, ?, ?, ?, ?)',
          conversation.id,
          conversation.title,
          conversation.source,
          now,
          now,
        ),
      ]);
      return conversation;
    },

    async listConversations(options = {}) {
      const limit = options.limit ?? 200;
      return (
        await rows('SELECT * FROM conversations ORDER BY updated_at DESC, id DESC LIMIT ?', [limit])
      ).map(toConversation);
    },

    async getConversation(id) {
      return first(toConversation, 'SELECT * FROM conversations WHERE id = ?', [id]);
    },

    async renameConversation(id, title) {
      return (await changed([sql('UPDATE conversations SET title = ? WHERE id = ?', title, id)])) > 0;
    },

    async deleteConversation(id) {
      const runIds = 'SELECT id FROM runs WHERE conversation_id = ?';
      const deleted = await changed([
        sql(`DELETE FROM run_events WHERE run_id IN (${runIds})`, id),
        sql(`DELETE FROM artifacts WHERE run_id IN (${runIds})`, id),
        sql('DELETE FROM runs WHERE conversation_id = ?', id),
        sql('DELETE FROM messages WHERE conversation_id = ?', id),
        sql('DELETE FROM conversations WHERE id = ?', id),
      ]);
      return deleted > 0;
    },

    async addMessage(input) {
      const now = Date.now();
      const files = input.files ?? [];
      const { rowId } = await write([
        sql(
          'INSERT INTO messages (conversation_id, role, content, run_id, files, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          input.conversationId,
          input.role,
          input.content,
          input.runId ?? null,
          JSON.stringify(files),
          now,
        ),
        touch(input.conversationId, now),
      ]);
      return {
        id: rowId,
        conversationId: input.conversationId,
        role: input.role,
        content: input.content,
        runId: input.runId ?? null,
        files,
        createdAt: now,
      };
    },

    async listMessages(conversationId) {
      return (
        await rows('SELECT * FROM messages WHERE conversation_id = ? ORDER BY id', [conversationId])
      ).map(toMessage);
    },

    async listMessageFiles(conversationId) {
      return (
        await rows("SELECT files FROM messages WHERE conversation_id = ? AND files != '[]' ORDER BY id", [
          conversationId,
        ])
      ).flatMap((row) => json(row.files) as string[]);
    },

    async createRun(input) {
      const now = Date.now();
      await write([
        sql(
          'INSERT INTO runs (id, conversation_id, request, status, created_at) VALUES (?, ?, ?, ?, ?)',
          input.id,
          input.conversationId ?? null,
          input.request,
          'running',
          now,
        ),
        ...(input.conversationId ? [touch(input.conversationId, now)] : []),
      ]);
      return {
        id: input.id,
        conversationId: input.conversationId ?? null,
        request: input.request,
        status: 'running',
        plan: null,
        result: null,
        answer: null,
        error: null,
        createdAt: now,
        endedAt: null,
      };
    },

    async setRunPlan(id, plan) {
      await write([sql('UPDATE runs SET plan = ? WHERE id = ?', JSON.stringify(plan), id)]);
    },

    async finishRun(id, outcome) {
      await write([
        sql(
          'UPDATE runs SET status = ?, result = ?, answer = ?, error = ?, ended_at = ? WHERE id = ?',
          outcome.status,
          outcome.result === undefined ? null : JSON.stringify(outcome.result),
          outcome.answer ?? null,
          outcome.error ? JSON.stringify(outcome.error) : null,
          Date.now(),
          id,
        ),
      ]);
    },

    async getRun(id) {
      return first(toRun, 'SELECT * FROM runs WHERE id = ?', [id]);
    },

    async listRuns(conversationId) {
      return (
        await rows('SELECT * FROM runs WHERE conversation_id = ? ORDER BY created_at, id', [conversationId])
      ).map(toRun);
    },

    async listRunIds(conversationId) {
      return (
        await rows('SELECT id FROM runs WHERE conversation_id = ? ORDER BY created_at, id', [conversationId])
      ).map((row) => String(row.id));
    },

    async appendEvent(runId, seq, event) {
      await write([insertEvent(runId, { seq, event })]);
    },

    async appendEvents(runId, events) {
      if (events.length === 0) return;
      await write(events.map((stored) => insertEvent(runId, stored)));
    },

    async setConversationKey(id, key) {
      await write([sql('UPDATE conversations SET thread_key = ? WHERE id = ?', key, id)]);
    },

    async findConversationByKey(key) {
      return first(
        toConversation,
        'SELECT * FROM conversations WHERE thread_key = ? ORDER BY updated_at DESC LIMIT 1',
        [key],
      );
    },

    async listEvents(runId, afterSeq = -1) {
      return (
        await rows('SELECT seq, data FROM run_events WHERE run_id = ? AND seq > ? ORDER BY seq', [
          runId,
          afterSeq,
        ])
      ).map((row) => ({ seq: Number(row.seq), event: JSON.parse(String(row.data)) as RunEvent }));
    },

    async addArtifact(input) {
      const stored: StoredArtifact = {
        id: newId('a'),
        runId: input.runId,
        taskId: input.taskId,
        kind: input.artifact.kind,
        path: input.artifact.path,
        mimeType: input.artifact.mimeType,
        label: input.artifact.label ?? null,
        createdAt: Date.now(),
      };
      await write([
        sql(
          'INSERT INTO artifacts (id, run_id, task_id, kind, path, mime_type, label, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
          stored.id,
          stored.runId,
          stored.taskId,
          stored.kind,
          stored.path,
          stored.mimeType,
          stored.label,
          stored.createdAt,
        ),
      ]);
      return stored;
    },

    async getArtifact(id) {
      return first(toArtifact, 'SELECT * FROM artifacts WHERE id = ?', [id]);
    },

    async listArtifacts(runId) {
      return (await rows('SELECT * FROM artifacts WHERE run_id = ? ORDER BY created_at, id', [runId])).map(
        toArtifact,
      );
    },

    async addUpload(input) {
      const upload: StoredUpload = {
        id: input.id ?? newId('u'),
        name: input.name,
        path: input.path,
        mimeType: input.mimeType,
        kind: input.kind,
        size: input.size,
        createdAt: Date.now(),
      };
      await write([
        sql(
          'INSERT INTO uploads (id, name, path, mime_type, kind, size, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
          upload.id,
          upload.name,
          upload.path,
          upload.mimeType,
          upload.kind,
          upload.size,
          upload.createdAt,
        ),
      ]);
      return upload;
    },

    async getUpload(id) {
      return first(toUpload, 'SELECT * FROM uploads WHERE id = ?', [id]);
    },

    async deleteUpload(id) {
      return (await changed([sql('DELETE FROM uploads WHERE id = ?', id)])) > 0;
    },

    async countUploadUses(id, exceptConversationId) {
      // Ids are ours ([A-Za-z0-9_-]) and quoted inside the JSON list, so the pattern matches only that id
      // (an underscore in LIKE matches any one character, which includes itself).
      if (!/^[\w-]+$/.test(id)) return 0;
      const [row] = await rows(
        'SELECT COUNT(*) AS uses FROM messages WHERE conversation_id != ? AND files LIKE ?',
        [exceptConversationId, `%"${id}"%`],
      );
      return Number(row?.uses ?? 0);
    },

    async getSetting<T>(key: string) {
      const [row] = await rows('SELECT value FROM settings WHERE key = ?', [key]);
      return row ? (JSON.parse(String(row.value)) as T) : undefined;
    },

    async setSetting(key, value) {
      const json = JSON.stringify(value);
      await write([sql('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)', key, json)]);
    },

    async markInterruptedRuns() {
      const now = Date.now();
      return changed([
        sql("UPDATE runs SET status = 'interrupted', ended_at = ? WHERE status = 'running'", now),
      ]);
    },

    async listRunningRunIds() {
      return (await rows("SELECT id FROM runs WHERE status = 'running'")).map((row) => String(row.id));
    },

    async close() {
      await writer.close();
      db.close();
    },
  };
}
