/**
 * The store's writer: a worker thread with its own connection to the database that applies the writes the
 * main thread sends, batch by batch, each batch in one transaction. Writing here keeps the disk off the
 * server's event loop: a commit in WAL mode is cheap, but every ~4 MB of log SQLite checkpoints, syncing the
 * log and the database file, and on a busy disk that held the event loop 70 ms to over a second (a CPU profile
 * of `npm run bench:server` at 100 conversations found 4 ms per turn stalled in it). Reads stay on the main
 * thread's connection: in WAL mode they never wait for a writer.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'libsql';
import { statementCache } from './statements.js';
import type { WriterReply, WriterRequest, WriteStatement } from './writer.js';

const port = parentPort;
if (!port) throw new Error('writer-thread.ts runs as a worker thread of the store');

const { file } = workerData as { file: string };
const db = new Database(file);
db.exec('PRAGMA busy_timeout = 5000');
// Per connection: commits are not synced, checkpoints are (see openStore).
db.exec('PRAGMA synchronous = NORMAL');

const prepared = statementCache(db);

type Outcome = Extract<WriterReply, { outcomes: unknown }>['outcomes'][number];

/** Runs one write's statements: the rows each changed, and the row id the first inserted. */
function apply(write: readonly WriteStatement[]): { changes: number[]; rowId: number } {
  const changes: number[] = [];
  let rowId = 0;
  write.forEach(({ sql, args }, index) => {
    const result = prepared(sql).run(args);
    changes.push(result.changes);
    if (index === 0) rowId = Number(result.lastInsertRowid);
  });
  return { changes, rowId };
}

const failure = (error: unknown): Outcome => ({
  ok: false,
  error: {
    message: error instanceof Error ? error.message : String(error),
    ...(typeof (error as { code?: unknown }).code === 'string'
      ? { code: (error as { code: string }).code }
      : {}),
  },
});

/** Every write in one transaction; null when one failed (the transaction is rolled back). */
function applyAll(batch: readonly (readonly WriteStatement[])[]): Outcome[] | null {
  db.exec('BEGIN IMMEDIATE');
  try {
    const outcomes = batch.map((write): Outcome => ({ ok: true, value: apply(write) }));
    db.exec('COMMIT');
    return outcomes;
  } catch {
    db.exec('ROLLBACK');
    return null;
  }
}

/** Each write in a savepoint of its own: a failing one alone fails, all or nothing by itself. */
function applyEach(batch: readonly (readonly WriteStatement[])[]): Outcome[] {
  db.exec('BEGIN IMMEDIATE');
  try {
    const outcomes = batch.map((write): Outcome => {
      db.exec('SAVEPOINT one_write');
      try {
        const value = apply(write);
        db.exec('RELEASE one_write');
        return { ok: true, value };
      } catch (error) {
        db.exec('ROLLBACK TO one_write');
        db.exec('RELEASE one_write');
        return failure(error);
      }
    });
    db.exec('COMMIT');
    return outcomes;
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}

port.on('message', (request: WriterRequest) => {
  if (request.type === 'close') {
    db.close();
    port.postMessage({ type: 'closed' } satisfies WriterReply);
    port.close();
    return;
  }
  let reply: WriterReply;
  try {
    // Writes rarely fail (a duplicate id, a full disk): the batch goes in one go, and only when something
    // failed is it applied again write by write, so that one failure does not take the others with it.
    reply = { type: 'done', id: request.id, outcomes: applyAll(request.writes) ?? applyEach(request.writes) };
  } catch (error) {
    const { error: described } = failure(error) as Extract<Outcome, { ok: false }>;
    reply = { type: 'failed', id: request.id, error: described };
  }
  port.postMessage(reply);
});
port.postMessage({ type: 'ready' } satisfies WriterReply);
