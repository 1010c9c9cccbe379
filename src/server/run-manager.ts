import { CancelledError, errorMessage, JarvisError } from '../core/errors.js';
import type { RunEvent, RunResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage } from '../core/llm.js';
import type { Jarvis } from '../run/index.js';
import { newRunId } from '../run/index.js';
import type { RunStatus, Store } from '../store/index.js';
import { type AdmissionLimits, type AdmissionStats, createAdmission, type Slot } from './admission.js';
import { forServer } from './server-messages.js';

/**
 * Runs started through the server: each one is persisted as it goes (the run row, its events, the artifacts
 * its tasks write, the assistant's message), streamed live to any number of listeners, cancellable, and
 * admitted through the server's bound on runs at once (admission.ts).
 */

export interface NumberedEvent {
  seq: number;
  event: RunEvent;
}

export interface RunOutcome {
  status: Exclude<RunStatus, 'running' | 'interrupted'>;
  result: RunResult | null;
  error: { code: string; message: string } | null;
}

export interface ActiveRun {
  readonly id: string;
  readonly key: string;
  readonly conversationId: string | null;
  /** Every event so far, response deltas included. */
  readonly events: readonly NumberedEvent[];
  readonly done: Promise<RunOutcome>;
  /**
   * Every event: those so far, then each later one as it happens, ending once the run has ended and been
   * saved, or when `stop` aborts (a reader that went away).
   */
  follow(stop?: AbortSignal): AsyncGenerator<NumberedEvent>;
  cancel(): void;
}

export interface StartRunInput {
  /** Who started it: the API key's id (or "local" where no key is configured). */
  key: string;
  request: string;
  conversationId?: string;
  history?: ChatMessage[];
  inputFiles?: string[];
  /** Folders besides `cwd` whose files the plan may read (earlier runs of the conversation). */
  allowedDirs?: string[];
  plan?: TaskGraph;
  select?: 'llm' | 'top';
  answer?: boolean;
  /** Input paths in the plan resolve against this folder. */
  cwd: string;
  /** Aborts the run too (a client that went away). */
  signal?: AbortSignal;
  /**
   * Called with the new run's id once the run has a slot and before it starts, e.g. to save the user's
   * message first so that it precedes the answer even when the run fails at once.
   */
  beforeStart?: (runId: string) => Promise<{ conversationId?: string } | undefined>;
}

/** Called with each event of a run; `null` once the run has ended and been saved. */
type Listener = (event: NumberedEvent | null) => void;

async function* followEvents(
  events: readonly NumberedEvent[],
  listeners: Set<Listener>,
  ended: () => boolean,
  stop: AbortSignal | undefined,
): AsyncGenerator<NumberedEvent> {
  // The body runs on the first `next()`: taking the snapshot and subscribing in the same tick leaves no
  // event between them.
  const queue: (NumberedEvent | null)[] = [...events];
  let wake: (() => void) | undefined;
  const listener: Listener = (event) => {
    queue.push(event);
    wake?.();
  };
  listeners.add(listener);
  if (ended()) queue.push(null);
  const onStop = () => wake?.();
  stop?.addEventListener('abort', onStop);
  try {
    for (;;) {
      if (stop?.aborted) return;
      const next = queue.shift();
      if (next === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
        continue;
      }
      if (next === null) return;
      yield next;
    }
  } finally {
    listeners.delete(listener);
    stop?.removeEventListener('abort', onStop);
  }
}

export { TooManyRunsError } from './admission.js';

/** The longest a run's event waits to be saved (see `launch`): what a crash of the server may lose of a run. */
const EVENT_SAVE_DELAY_MS = 1000;

export interface RunManager {
  /** Starts a run in the slot given, or in one it waits for (TooManyRunsError when the queue is full). */
  start(input: StartRunInput & { slot?: Slot }): Promise<ActiveRun>;
  get(runId: string): ActiveRun | undefined;
  /**
   * A slot for `key`, at once or once one frees up (keys in turn): for a run about to start, or for work that
   * is not a run but calls the LLM all the same (planning only, HuggingGPT's `/tasks`). Throws
   * TooManyRunsError when the queue is full, CancelledError when `signal` aborts the wait.
   */
  admit(key: string, signal?: AbortSignal): Promise<Slot>;
  /** Slots in use, requests waiting, the limits. */
  stats(): AdmissionStats;
  /** Cancels every active run and waits until each is saved. */
  close(): Promise<void>;
}

export interface RunManagerOptions {
  store: Store;
  /** The pipeline to use for a new run (settings may replace it between runs). */
  jarvis: () => Jarvis;
  limits: AdmissionLimits;
}

/**
 * Why a run that finished counts as failed: a stage error (planning, selection, the answer), or tasks none
 * of which succeeded. A run where only some tasks failed has succeeded; its task list says which failed.
 */
export function runFailure(result: RunResult): { code: string; message: string } | null {
  const stageError = result.errors[0];
  if (stageError) return { code: stageError.code, message: stageError.message };
  if (result.tasks.length === 0 || result.tasks.some((task) => task.status === 'succeeded')) return null;
  const firstFailed = result.tasks.find((task) => task.status === 'failed' && task.error);
  const count = result.tasks.length;
  return {
    code: 'tasks-failed',
    message: `${count === 1 ? 'The task' : `All ${count} tasks`} failed${
      firstFailed?.error ? `; task ${firstFailed.id} (${firstFailed.task}): ${firstFailed.error.message}` : ''
    }`,
  };
}

export function createRunManager(options: RunManagerOptions): RunManager {
  const { store } = options;
  const active = new Map<string, ActiveRun>();
  const admission = createAdmission(options.limits);

  async function start(input: StartRunInput & { slot?: Slot }): Promise<ActiveRun> {
    const slot = input.slot ?? (await admission.acquire(input.key, input.signal));
    try {
      return await launch(input, slot);
    } catch (error) {
      slot.release();
      throw error;
    }
  }

  async function launch(input: StartRunInput, slot: Slot): Promise<ActiveRun> {
    const jarvis = options.jarvis();
    const id = newRunId();
    const controller = new AbortController();
    const onClientGone = () => controller.abort();
    input.signal?.addEventListener('abort', onClientGone, { once: true });

    const events: NumberedEvent[] = [];
    const listeners = new Set<Listener>();
    let ended = false;
    // Writes are asked for as things happen: the store applies them in that order (events in order, the final
    // row last) and commits those of one moment together, across runs; the run ends once all are saved.
    const saving: Promise<unknown>[] = [];
    const persist = (job: () => Promise<unknown>) => {
      saving.push(
        job().catch((error: unknown) => {
          console.error(`jarvis serve: could not save run ${id}: ${errorMessage(error)}`);
        }),
      );
    };
    // Events wait for the run's next other write (its plan, an artifact, its end) or at most EVENT_SAVE_DELAY_MS,
    // then go together: each write wakes the store's writer thread, and listeners and the API read a live
    // run's events from memory anyway.
    let unsaved: NumberedEvent[] = [];
    let saveTimer: NodeJS.Timeout | undefined;
    const saveEvents = () => {
      clearTimeout(saveTimer);
      saveTimer = undefined;
      if (unsaved.length === 0) return;
      const batch = unsaved;
      unsaved = [];
      persist(() => store.appendEvents(id, batch));
    };
    const write = (job: () => Promise<unknown>) => {
      saveEvents();
      persist(job);
    };

    const emit = (received: RunEvent) => {
      const event: RunEvent =
        received.type === 'run-error' ? { ...received, message: forServer(received.message) } : received;
      const numbered = { seq: events.length, event };
      events.push(numbered);
      for (const listener of listeners) listener(numbered);
      // Deltas are many and the finished answer holds them all; the live buffer keeps them for streaming.
      if (event.type !== 'response-delta') {
        unsaved.push(numbered);
        saveTimer ??= setTimeout(saveEvents, EVENT_SAVE_DELAY_MS);
      }
      if (event.type === 'plan-done') write(() => store.setRunPlan(id, event.plan));
      if (event.type === 'task-end' && event.result.status === 'succeeded') {
        for (const artifact of event.result.output.artifacts ?? []) {
          write(() => store.addArtifact({ runId: id, taskId: event.result.id, artifact }));
        }
      }
    };

    const prepared = await input.beforeStart?.(id);
    const conversationId = prepared?.conversationId ?? input.conversationId;
    await store.createRun({ id, request: input.request, ...(conversationId ? { conversationId } : {}) });

    const done = (async (): Promise<RunOutcome> => {
      let outcome: RunOutcome;
      try {
        const ran = await jarvis.run({
          request: input.request,
          runId: id,
          cwd: input.cwd,
          signal: controller.signal,
          onEvent: emit,
          ...(input.history ? { history: input.history } : {}),
          ...(input.inputFiles ? { inputFiles: input.inputFiles } : {}),
          ...(input.allowedDirs ? { allowedDirs: input.allowedDirs } : {}),
          ...(input.plan ? { plan: input.plan } : {}),
          ...(input.select ? { select: input.select } : {}),
          ...(input.answer === undefined ? {} : { answer: input.answer }),
        });
        const result: RunResult = {
          ...ran,
          errors: ran.errors.map((error) => ({ ...error, message: forServer(error.message) })),
        };
        const error = runFailure(result);
        outcome = { status: error ? 'failed' : 'succeeded', result, error };
      } catch (error) {
        const cancelled = error instanceof CancelledError || controller.signal.aborted;
        const code = cancelled ? 'cancelled' : error instanceof JarvisError ? error.code : 'error';
        const message = cancelled ? 'The run was cancelled' : forServer(errorMessage(error));
        // The pipeline reports stage failures itself; a run that threw still owes its listeners an error event.
        emit({ type: 'run-error', stage: 'run', code, message, at: Date.now() });
        outcome = { status: cancelled ? 'cancelled' : 'failed', result: null, error: { code, message } };
      } finally {
        input.signal?.removeEventListener('abort', onClientGone);
      }
      write(() =>
        store.finishRun(id, {
          status: outcome.status,
          ...(outcome.result ? { result: outcome.result, answer: outcome.result.answer } : {}),
          error: outcome.error,
        }),
      );
      if (conversationId) {
        const content = outcome.result?.answer ?? (outcome.error ? `⚠ ${outcome.error.message}` : '');
        write(() => store.addMessage({ conversationId, role: 'assistant', content, runId: id }));
      }
      saveEvents();
      await Promise.all(saving);
      active.delete(id);
      // Free once saved: a slot stands for the work of a run, its writes included.
      slot.release();
      ended = true;
      for (const listener of listeners) listener(null);
      listeners.clear();
      return outcome;
    })();

    const run: ActiveRun = {
      id,
      key: input.key,
      conversationId: conversationId ?? null,
      events,
      done,
      follow: (stop) => followEvents(events, listeners, () => ended, stop),
      cancel: () => controller.abort(new CancelledError()),
    };
    active.set(id, run);
    return run;
  }

  return {
    start,
    get: (runId) => active.get(runId),
    admit: (key, signal) => admission.acquire(key, signal),
    stats: () => admission.stats(),
    async close() {
      const runs = [...active.values()];
      for (const run of runs) run.cancel();
      await Promise.allSettled(runs.map((run) => run.done));
    },
  };
}
