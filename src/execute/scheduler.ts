import { rm } from 'node:fs/promises';
import {
  CancelledError,
  dependencies,
  errorMessage,
  type InferenceBackend,
  JarvisError,
  type ModelChoice,
  type PlannedTask,
  type RunEvent,
  type RunEventListener,
  redact,
  type TaskGraph,
  type TaskOutput,
  type TaskResult,
  TimeoutError,
} from '../core/index.js';
import type { ControllerModel } from '../core/llm.js';
import { isRecord } from '../core/records.js';
import { createArtifactDirectory } from './artifacts.js';
import type { InputPolicy } from './inputs.js';
import { referencedTasks, resolveArguments } from './resolve.js';

export interface ExecuteOptions {
  plan: TaskGraph;
  /** The model chosen for each task id (from stage 2). */
  choices: Map<number, ModelChoice>;
  /** Why no model could be chosen for a task (stage 2's verdict); such a task fails with this message. */
  unavailable?: ReadonlyMap<number, string>;
  /** Backends keyed by backend id. */
  backends: ReadonlyMap<string, InferenceBackend>;
  inputs: InputPolicy;
  /** The run's folder for generated files and downloaded inputs; created when the first file is written. */
  outputDir: string;
  /** Most tasks running at the same time. */
  concurrency: number;
  /** Each task's limit, from the moment it starts (argument resolution and downloads included). */
  taskTimeoutMs: number;
  /** The run's controller, handed to experts that call it (so their calls count in the run's usage). */
  controller?: ControllerModel;
  signal?: AbortSignal;
  onEvent?: RunEventListener;
}

type Failure = { code: string; message: string };

type NodeState = 'waiting' | 'queued' | 'running' | 'settling' | 'done';

/** One plan entry with its place in the graph; plans are addressed by position so a duplicated id cannot hide a task. */
interface Node {
  index: number;
  task: PlannedTask;
  /** Indices of the tasks this one waits for: its `dep` list plus every task its arguments reference. */
  deps: number[];
  dependants: number[];
  /** Set when the plan itself makes this task impossible (unknown dependency, duplicate id, cycle). */
  structuralError?: Failure;
}

function stringArgs(task: PlannedTask): Record<string, string> {
  const args: Record<string, string> = {};
  for (const [name, value] of Object.entries(task.args))
    if (value !== undefined && value !== null) args[name] = String(value);
  return args;
}

function describe(task: PlannedTask): string {
  return `task ${task.id} (${task.task})`;
}

/** What an expert found nothing of: its own word, or empty text from a backend that does not say. */
function nothingFoundIn(output: TaskOutput): string | undefined {
  if (output.nothingFound !== undefined) return output.nothingFound;
  return output.text !== undefined && output.text.trim() === '' ? 'no text came out' : undefined;
}

/** Whether `task`'s text argument takes the text of task `sourceId` (`<GENERATED>-k` anywhere in it). */
function readsTextOf(task: PlannedTask, sourceId: number): boolean {
  const text = task.args.text;
  if (typeof text !== 'string') return false;
  return [...text.matchAll(/<GENERATED>-(\d+)/g)].some((match) => Number(match[1]) === sourceId);
}

function failureOf(error: unknown): Failure {
  if (error instanceof JarvisError) return { code: error.code, message: redact(error.message) };
  return { code: 'inference', message: redact(errorMessage(error)) };
}

/** Builds the graph once, up front, so that impossible tasks fail before anything runs. */
function buildNodes(plan: TaskGraph): Node[] {
  const nodes: Node[] = plan.map((task, index) => ({ index, task, deps: [], dependants: [] }));
  const indexById = new Map<number, number>();
  for (const node of nodes) {
    if (indexById.has(node.task.id)) {
      node.structuralError = {
        code: 'plan',
        message: `${describe(node.task)} repeats the id of an earlier task in the plan, so it was not run`,
      };
    } else {
      indexById.set(node.task.id, node.index);
    }
  }
  for (const node of nodes) {
    if (node.structuralError) continue;
    const wanted = new Set([...dependencies(node.task), ...referencedTasks(node.task)]);
    for (const id of wanted) {
      const index = indexById.get(id);
      if (index === undefined) {
        node.structuralError = {
          code: 'plan',
          message: `${describe(node.task)} depends on task ${id}, which is not in the plan`,
        };
        break;
      }
      if (index === node.index) {
        node.structuralError = { code: 'plan', message: `${describe(node.task)} depends on itself` };
        break;
      }
      node.deps.push(index);
    }
  }
  for (const node of nodes) for (const dep of node.deps) nodes[dep]!.dependants.push(node.index);
  markCycles(nodes);
  return nodes;
}

/**
 * Kahn's algorithm finds what can never start; of that, tasks that merely sit downstream of a cycle are
 * peeled off (they will be skipped, naming the cycle), so only tasks on or between cycles are failed.
 */
function markCycles(nodes: Node[]): void {
  const remaining = nodes.map((node) => node.deps.length);
  const ready = nodes.filter((node) => node.deps.length === 0).map((node) => node.index);
  const processed = new Set<number>();
  while (ready.length > 0) {
    const index = ready.pop()!;
    processed.add(index);
    for (const dependant of nodes[index]!.dependants)
      if (--remaining[dependant]! === 0) ready.push(dependant);
  }
  const stuck = new Set(nodes.map((node) => node.index).filter((index) => !processed.has(index)));
  let peeled = true;
  while (peeled) {
    peeled = false;
    for (const index of stuck) {
      if (!nodes[index]!.dependants.some((dependant) => stuck.has(dependant))) {
        stuck.delete(index);
        peeled = true;
      }
    }
  }
  if (stuck.size === 0) return;
  const ids = [...stuck].map((index) => nodes[index]!.task.id).join(', ');
  for (const index of stuck) {
    const node = nodes[index]!;
    node.structuralError ??= {
      code: 'plan',
      message: `${describe(node.task)} is part of a dependency cycle (tasks ${ids})`,
    };
  }
}

/** Settles with the work, or rejects the moment the signal aborts even if the work ignores the signal. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  // The work may still reject after we stopped waiting for it: that rejection is expected, not unhandled.
  work.catch(() => {});
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

function isTaskOutput(value: unknown): value is TaskOutput {
  return isRecord(value);
}

/**
 * Runs a plan: every task starts the moment its last dependency finishes, independent tasks run side by side
 * up to `concurrency`, a failure skips only what depends on it. Never rejects for a task's sake: every task
 * ends as a result, in plan order.
 */
export function executePlan(options: ExecuteOptions): Promise<TaskResult[]> {
  const nodes = buildNodes(options.plan);
  const concurrency = Math.max(1, Math.floor(options.concurrency) || 1);
  const directory = createArtifactDirectory(options.outputDir);
  const state: NodeState[] = nodes.map(() => 'waiting');
  const remaining = nodes.map((node) => node.deps.length);
  const results: (TaskResult | undefined)[] = nodes.map(() => undefined);
  /** Finished results by task id, for `<GENERATED>-k`. */
  const resultsById = new Map<number, TaskResult>();
  /** The failed task that a skipped task ultimately waits on, to name it in the reason. */
  const rootCause = new Map<number, { task: PlannedTask; why: string }>();
  const queue: number[] = [];
  let running = 0;
  let finished = 0;
  let resolveAll!: (results: TaskResult[]) => void;
  const done = new Promise<TaskResult[]>((resolve) => (resolveAll = resolve));

  function emit(event: RunEvent): void {
    if (!options.onEvent) return;
    try {
      options.onEvent(event);
    } catch (error) {
      // A broken listener must not break the run; it is still worth hearing about.
      process.emitWarning(`Run event listener threw: ${errorMessage(error)}`);
    }
  }

  function baseResult(node: Node) {
    const choice = options.choices.get(node.task.id);
    return {
      id: node.task.id,
      task: node.task.task,
      args: stringArgs(node.task),
      model: choice?.modelId ?? null,
      backend: choice?.backend ?? null,
      reason: choice?.reason ?? null,
      startedAt: null,
      endedAt: null,
      durationMs: null,
    };
  }

  function failedBeforeStart(node: Node, failure: Failure): TaskResult {
    return { ...baseResult(node), status: 'failed', output: null, error: failure };
  }

  function skipped(node: Node, cause: Node): TaskResult {
    const causeResult = results[cause.index]!;
    const root = rootCause.get(cause.index) ?? { task: cause.task, why: 'failed' };
    rootCause.set(node.index, root);
    const message =
      causeResult.status === 'skipped'
        ? `skipped: it depends on ${describe(cause.task)}, which was skipped because ${describe(root.task)} ${root.why}`
        : `skipped: it depends on ${describe(cause.task)}, which failed`;
    return { ...baseResult(node), status: 'skipped', output: null, error: { code: 'skipped', message } };
  }

  /** A task that would read the text of a task that found nothing: skipped with what was not found. */
  function skippedForNothing(node: Node, cause: Node, nothingFound: string): TaskResult {
    rootCause.set(node.index, { task: cause.task, why: `found nothing (${nothingFound})` });
    const message = `skipped: ${nothingFound} (${describe(cause.task)}), so there is no text to pass on`;
    return { ...baseResult(node), status: 'skipped', output: null, error: { code: 'skipped', message } };
  }

  function finish(node: Node, result: TaskResult): void {
    state[node.index] = 'done';
    results[node.index] = result;
    if (!resultsById.has(result.id) || !node.structuralError) resultsById.set(result.id, result);
    finished++;
    emit({ type: 'task-end', result, at: Date.now() });
    const nothing = result.status === 'succeeded' ? nothingFoundIn(result.output) : undefined;
    for (const dependantIndex of node.dependants) {
      if (state[dependantIndex] !== 'waiting') continue;
      const dependant = nodes[dependantIndex]!;
      if (result.status !== 'succeeded') finish(dependant, skipped(dependant, node));
      else if (nothing !== undefined && readsTextOf(dependant.task, result.id))
        finish(dependant, skippedForNothing(dependant, node, nothing));
      else if (--remaining[dependantIndex]! === 0) {
        state[dependantIndex] = 'queued';
        queue.push(dependantIndex);
      }
    }
    pump();
  }

  function pump(): void {
    while (running < concurrency && queue.length > 0) {
      const index = queue.shift()!;
      state[index] = 'running';
      running++;
      void runTask(nodes[index]!)
        .catch((error: unknown) => failedBeforeStart(nodes[index]!, failureOf(error)))
        .then((result) => {
          running--;
          finish(nodes[index]!, result);
        });
    }
    if (finished === nodes.length) resolveAll(results as TaskResult[]);
  }

  async function runTask(node: Node): Promise<TaskResult> {
    const { task } = node;
    const choice = options.choices.get(task.id);
    if (!choice) {
      return failedBeforeStart(node, {
        code: 'no-model',
        message: redact(options.unavailable?.get(task.id) ?? `No model was chosen for ${describe(task)}`),
      });
    }
    const backend = options.backends.get(choice.backend);
    if (!backend) {
      const known = [...options.backends.keys()].join(', ') || 'none';
      return failedBeforeStart(node, {
        code: 'no-such-backend',
        message: `${describe(task)} was assigned to backend "${choice.backend}", which is not registered (registered: ${known})`,
      });
    }
    if (!backend.supports(task.task)) {
      return failedBeforeStart(node, {
        code: 'unsupported-task',
        message: `Backend "${backend.id}" cannot run ${task.task} (chosen for task ${task.id})`,
      });
    }

    const startedAt = Date.now();
    const startedClock = performance.now();
    const timeout = new AbortController();
    const timer = setTimeout(
      () =>
        timeout.abort(
          new TimeoutError(`Task ${task.id} (${task.task})`, options.taskTimeoutMs, { taskId: task.id }),
        ),
      options.taskTimeoutMs,
    );
    const signal = options.signal ? AbortSignal.any([options.signal, timeout.signal]) : timeout.signal;
    let args = stringArgs(task);
    let settled = false;
    // Private copies of local input files, made for this task only: removed the moment it ends.
    const copies: string[] = [];
    const removeCopies = () =>
      Promise.all(copies.splice(0).map((path) => rm(path, { force: true }).catch(() => {})));
    emit({
      type: 'task-start',
      taskId: task.id,
      task: task.task,
      model: choice.modelId,
      backend: backend.id,
      at: startedAt,
    });

    const timed = () => {
      const endedAt = Date.now();
      return { startedAt, endedAt, durationMs: performance.now() - startedClock };
    };
    const progress = (message: string) => {
      // A backend may report after the task ended (timed out, cancelled): those reports are stale.
      if (!settled)
        emit({ type: 'task-progress', taskId: task.id, message: redact(message), at: Date.now() });
    };
    // The model that actually ran: the chosen one, or a fallback when the chosen one could not run.
    let ran = { backend: backend.id, modelId: choice.modelId, reason: choice.reason };
    try {
      const work = (async () => {
        const resolved = await resolveArguments(task, {
          results: resultsById,
          policy: options.inputs,
          directory,
          signal,
        });
        args = resolved.args;
        copies.push(...resolved.copies);
        // The task may have ended (timed out, cancelled) while its inputs were read.
        if (settled) await removeCopies();
        signal.throwIfAborted();
        const attempt = (target: InferenceBackend, modelId: string) =>
          target.infer({
            task: task.task,
            modelId,
            inputs: resolved.inputs,
            artifacts: directory.sinkForTask(task.id, task.task),
            signal,
            onProgress: progress,
            ...(options.controller ? { controller: options.controller } : {}),
          });
        try {
          return await attempt(backend, choice.modelId);
        } catch (error) {
          // The model's own failure (unavailable, or a remote error worth retrying) is worth another
          // candidate; bad input, cancellation and timeouts are not.
          let lastError = error;
          for (const fallback of fallbacks(choice, error, signal)) {
            const target = options.backends.get(fallback.backend);
            if (!target?.supports(task.task)) continue;
            progress(
              `${choice.backend}:${choice.modelId} failed (${errorMessage(lastError)}); trying ${fallback.key}`,
            );
            try {
              const output = await attempt(target, fallback.modelId);
              ran = {
                backend: fallback.backend,
                modelId: fallback.modelId,
                reason: `${choice.reason} Fell back to ${fallback.key}: ${choice.backend}:${choice.modelId} failed (${redact(errorMessage(error))}).`,
              };
              return output;
            } catch (next) {
              lastError = next;
              if (!worthAnotherModel(next, signal)) break;
            }
          }
          throw error;
        }
      })();
      const output = await raceAbort(work, signal);
      if (!isTaskOutput(output))
        throw new JarvisError('inference', `Backend "${ran.backend}" returned no output for task ${task.id}`);
      return {
        ...baseResult(node),
        model: ran.modelId,
        backend: ran.backend,
        reason: ran.reason,
        args,
        ...timed(),
        status: 'succeeded',
        output,
        error: null,
      };
    } catch (error) {
      let failure: Failure;
      if (options.signal?.aborted) failure = failureOf(new CancelledError(`Task ${task.id} (${task.task})`));
      else if (timeout.signal.aborted) failure = failureOf(timeout.signal.reason);
      else failure = failureOf(error);
      return { ...baseResult(node), args, ...timed(), status: 'failed', output: null, error: failure };
    } finally {
      settled = true;
      clearTimeout(timer);
      await removeCopies();
    }
  }

  function cancelWaiting(): void {
    queue.length = 0;
    // Mark every unstarted task first, so each is reported as cancelled rather than skipped by its neighbour.
    const unstarted = nodes.filter(
      (node) => state[node.index] === 'waiting' || state[node.index] === 'queued',
    );
    for (const node of unstarted) state[node.index] = 'settling';
    for (const node of unstarted) {
      finish(
        node,
        failedBeforeStart(node, {
          code: 'cancelled',
          message: `${describe(node.task)} was cancelled before it started`,
        }),
      );
    }
  }

  // Tasks the plan makes impossible fail first (their dependants are skipped by `finish`); mark them all
  // before finishing any, so that a task on a cycle is reported as failed, not as skipped by its neighbour.
  const impossible = nodes.filter((node) => node.structuralError);
  for (const node of impossible) state[node.index] = 'settling';
  for (const node of impossible) finish(node, failedBeforeStart(node, node.structuralError!));

  for (const node of nodes) {
    if (state[node.index] === 'waiting' && node.deps.length === 0) {
      state[node.index] = 'queued';
      queue.push(node.index);
    }
  }

  if (options.signal?.aborted) cancelWaiting();
  else options.signal?.addEventListener('abort', cancelWaiting, { once: true });
  pump();
  return done.then((all) => {
    options.signal?.removeEventListener('abort', cancelWaiting);
    return all;
  });
}

/** Other candidates to try after the chosen model failed, at most two, when the failure was the model's. */
const MAX_FALLBACKS = 2;

function worthAnotherModel(error: unknown, signal: AbortSignal): boolean {
  if (signal.aborted || !(error instanceof JarvisError)) return false;
  return error.code === 'model-unavailable' || (error.code === 'inference' && error.retryable);
}

function fallbacks(
  choice: ModelChoice,
  error: unknown,
  signal: AbortSignal,
): { key: string; backend: string; modelId: string }[] {
  if (!worthAnotherModel(error, signal)) return [];
  const chosen = `${choice.backend}:${choice.modelId}`;
  return choice.candidates
    .filter((key) => key !== chosen)
    .slice(0, MAX_FALLBACKS)
    .map((key) => {
      const colon = key.indexOf(':');
      return { key, backend: key.slice(0, colon), modelId: key.slice(colon + 1) };
    });
}
