import { siblingModule, startModuleWorker } from '../core/threads.js';

/**
 * The main thread's side of the store's writer thread (writer-thread.ts): writes go to the thread in batches,
 * each committed there in one transaction; each write's promise settles once its batch is committed (or has
 * failed). Batches are applied in the order they were asked for. One batch is in flight at a time: the writes
 * asked for meanwhile go together once it is done, so a busy server sends a few large batches (each message
 * to the thread costs the event loop tens of microseconds) and an idle one sends each write at the end of
 * the event-loop turn that asked for it.
 */

/** One SQL statement of a write. */
export interface WriteStatement {
  sql: string;
  args: unknown[];
}

/** What a write did: the rows each statement changed, and the row id its first statement inserted. */
export interface WriteResult {
  changes: number[];
  rowId: number;
}

export type WriterRequest =
  | { type: 'write'; id: number; writes: (readonly WriteStatement[])[] }
  | { type: 'close' };

export type WriterReply =
  | { type: 'ready' }
  | { type: 'closed' }
  | {
      type: 'done';
      id: number;
      outcomes: (
        | { ok: true; value: WriteResult }
        | { ok: false; error: { message: string; code?: string } }
      )[];
    }
  | { type: 'failed'; id: number; error: { message: string; code?: string } };

export interface Writer {
  /** Applies the write's statements together (all or none), in one transaction with the turn's other writes. */
  write(statements: readonly WriteStatement[]): Promise<WriteResult>;
  /** Commits what is pending, then stops the thread. */
  close(): Promise<void>;
}

const ENTRY = siblingModule(import.meta.url, 'writer-thread');

const asError = ({ message, code }: { message: string; code?: string }) =>
  Object.assign(new Error(message), code ? { code } : {});

interface PendingWrite {
  statements: readonly WriteStatement[];
  resolve: (value: WriteResult) => void;
  reject: (error: unknown) => void;
}

/** Starts the writer thread for the database `file` (already created, in WAL mode) once it has opened it. */
export async function startWriter(file: string): Promise<Writer> {
  const worker = startModuleWorker(ENTRY, { workerData: { file } });
  let stopped: Error | undefined;
  const inFlight = new Map<number, PendingWrite[]>();
  let nextId = 0;
  let pending: PendingWrite[] = [];
  let closed = false;
  let onClosed: (() => void) | undefined;
  /** Called once nothing is in flight or pending (closing waits for that). */
  let drained: (() => void)[] = [];
  const checkDrained = () => {
    if (inFlight.size > 0 || pending.length > 0) return;
    const waiting = drained;
    drained = [];
    for (const resolve of waiting) resolve();
  };

  const stop = (error: Error) => {
    stopped ??= error;
    for (const batch of inFlight.values()) for (const write of batch) write.reject(stopped);
    inFlight.clear();
    for (const write of pending) write.reject(stopped);
    pending = [];
    checkDrained();
  };

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error) => reject(error);
    worker.once('error', onError);
    worker.once('message', (reply: WriterReply) => {
      worker.off('error', onError);
      if (reply.type === 'ready') resolve();
      else reject(new Error(`The store's writer thread answered ${reply.type} instead of ready`));
    });
  });
  // An idle process is not kept alive by its writer; writes in flight and closing keep it referenced.
  let held = true;
  const holdProcess = () => {
    const hold = closed || inFlight.size > 0;
    if (hold === held) return;
    held = hold;
    if (hold) worker.ref();
    else worker.unref();
  };
  holdProcess();

  worker.on('message', (reply: WriterReply) => {
    if (reply.type === 'closed') {
      onClosed?.();
      return;
    }
    if (reply.type !== 'done' && reply.type !== 'failed') return;
    const batch = inFlight.get(reply.id);
    inFlight.delete(reply.id);
    flush();
    holdProcess();
    checkDrained();
    if (!batch) return;
    if (reply.type === 'failed') {
      for (const write of batch) write.reject(asError(reply.error));
      return;
    }
    batch.forEach((write, index) => {
      const outcome = reply.outcomes[index]!;
      if (outcome.ok) write.resolve(outcome.value);
      else write.reject(asError(outcome.error));
    });
  });
  worker.on('error', (error) => stop(new Error(`The store's writer thread failed: ${error.message}`)));
  worker.on('exit', () => {
    stop(new Error("The store's writer thread stopped"));
    onClosed?.();
  });

  function flush(): void {
    if (pending.length === 0 || inFlight.size > 0) return;
    const batch = pending;
    pending = [];
    if (stopped) {
      for (const write of batch) write.reject(stopped);
      return;
    }
    const id = nextId++;
    inFlight.set(id, batch);
    holdProcess();
    worker.postMessage({
      type: 'write',
      id,
      writes: batch.map((write) => write.statements),
    } satisfies WriterRequest);
  }

  return {
    write: (statements) =>
      new Promise<WriteResult>((resolve, reject) => {
        if (closed || stopped) {
          reject(stopped ?? new Error('The store is closed'));
          return;
        }
        pending.push({ statements, resolve, reject });
        if (pending.length === 1) setImmediate(flush);
      }),
    async close() {
      if (closed) return;
      closed = true;
      flush();
      if (stopped) return;
      holdProcess();
      // What is still pending goes once the batch in flight is done, before the close that follows it.
      if (inFlight.size > 0) await new Promise<void>((resolve) => drained.push(resolve));
      // The thread answers the writes sent before it, then closes its connection.
      await new Promise<void>((resolve) => {
        onClosed = resolve;
        worker.postMessage({ type: 'close' } satisfies WriterRequest);
      });
    },
  };
}
