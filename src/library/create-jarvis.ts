import type { JarvisConfig } from '../config/schema.js';
import type { InferenceBackend, ModelCard } from '../core/backend.js';
import type { RunEvent, RunResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage, ControllerModel } from '../core/llm.js';
import type { TaskName } from '../core/tasks.js';
import type { RunOptions } from '../run/types.js';
import { type JarvisConfigInput, resolveConfig } from './config.js';

export interface CreateJarvisOptions {
  /**
   * Settings over the defaults. No config file or environment variable is read unless you pass what
   * `loadConfig()` returns, which layers them as the `jarvis` command does.
   */
  config?: JarvisConfigInput;
  /** Folder a relative `dataDir` is resolved from, and the default `cwd` of runs (default: process.cwd()). */
  cwd?: string;
  /** Your own experts, offered beside the built-in ones; each needs its own `id`. */
  backends?: InferenceBackend[];
  /**
   * false: offer only `backends` (no built-in experts, no Hub or catalog-file listings), so that nothing
   * but your experts can be chosen. Default true.
   */
  builtInBackends?: boolean;
  /**
   * The controller LLM: yours instead of the configured one (an OpenAI-compatible endpoint or the
   * embedded model), or `null` for none, which allows only given plans, `select: 'top'` and no answer.
   */
  controller?: ControllerModel | null;
  /** One-time notices ("Hub unreachable, using the cached list"); default: written to stderr. */
  onNotice?: (message: string) => void;
}

/** Options of one run; the request is the first argument of `run`. */
export type JarvisRunOptions = Omit<RunOptions, 'request'>;

export interface PlanRequestOptions {
  /** Earlier turns of the conversation. */
  history?: ChatMessage[];
  signal?: AbortSignal;
}

export interface PlanOutcome {
  plan: TaskGraph;
  /** What was wrong with the LLM's plan and could not be repaired; empty when `ok`. */
  problems: string[];
  ok: boolean;
}

/** The events of one run as they happen; iterate it once. The run goes on if you stop reading early. */
export interface RunStream extends AsyncIterable<RunEvent> {
  /** The run's result; rejects as `run` does. */
  readonly result: Promise<RunResult>;
}

export interface Jarvis {
  /** The settings in force, defaults filled in. */
  readonly config: JarvisConfig;
  /**
   * Runs the four stages: plan (or the given `plan`), select models, execute, answer. Failed tasks are in
   * the result, never thrown. Throws ConfigError when the run needs a controller LLM and there is none,
   * LlmError when the LLM cannot be reached, and CancelledError (with `partial`) when `signal` aborts.
   */
  run(request: string, options?: JarvisRunOptions): Promise<RunResult>;
  /** `run`, read as a stream of events; the last one is `run-end` with the result. */
  stream(request: string, options?: Omit<JarvisRunOptions, 'onEvent'>): RunStream;
  /** Stage 1 only: the task graph the controller plans for a request. */
  plan(request: string, options?: PlanRequestOptions): Promise<PlanOutcome>;
  /** The models that can be chosen for a task (or all tasks), best first. */
  models(task?: TaskName): Promise<ModelCard[]>;
  /** Frees loaded models and worker processes. */
  close(): Promise<void>;
}

/**
 * Creates a Jarvis pipeline: the controller, the backends and their model catalog. The pipeline's modules
 * are loaded here, not when the package is imported, and heavy expert runtimes (TensorFlow, ONNX,
 * llama.cpp) only when a task first needs them.
 */
export async function createJarvis(options: CreateJarvisOptions = {}): Promise<Jarvis> {
  const config = resolveConfig(options.config, options.cwd === undefined ? {} : { cwd: options.cwd });
  const pipeline = await import('../run/index.js');
  const builtIn = options.builtInBackends ?? true;
  const inner = await pipeline.createJarvis(config, {
    ...(options.controller === undefined ? {} : { controller: options.controller }),
    ...(builtIn ? {} : { backends: [], sources: [] }),
    ...(options.backends ? { extraBackends: options.backends } : {}),
    ...(options.onNotice ? { onNotice: options.onNotice } : {}),
  });
  const defaultCwd = options.cwd;

  function run(request: string, runOptions: JarvisRunOptions = {}): Promise<RunResult> {
    return inner.run({
      ...(defaultCwd === undefined ? {} : { cwd: defaultCwd }),
      ...runOptions,
      request,
    });
  }

  function stream(request: string, runOptions: Omit<JarvisRunOptions, 'onEvent'> = {}): RunStream {
    const queue: RunEvent[] = [];
    let finished = false;
    let wake: (() => void) | undefined;
    const result = run(request, {
      ...runOptions,
      onEvent: (event) => {
        queue.push(event);
        wake?.();
      },
    });
    const finish = () => {
      finished = true;
      wake?.();
    };
    // Handled here so that a stream read only through its events cannot crash the process with an
    // unhandled rejection; the iterator and `result` still report the failure to whoever reads them.
    result.then(finish, finish);

    async function* events(): AsyncGenerator<RunEvent> {
      for (;;) {
        const next = queue.shift();
        if (next !== undefined) {
          yield next;
          continue;
        }
        if (finished) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
        });
        wake = undefined;
      }
      // After the events it emitted, a failed run ends the iteration with its error.
      await result;
    }
    return { result, [Symbol.asyncIterator]: events };
  }

  return {
    config,
    run,
    stream,
    plan: (request, planOptions = {}) => inner.plan(request, planOptions.history, planOptions.signal),
    models: (task) => inner.catalog.list(task),
    close: () => inner.close(),
  };
}
