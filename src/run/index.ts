import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { createBackends } from '../backends/registry.js';
import { type Catalog, createCatalog, createModelSources, type ModelSource } from '../catalog/index.js';
import type { JarvisConfig } from '../config/schema.js';
import type { InferenceBackend } from '../core/backend.js';
import { CancelledError, ConfigError, errorMessage, JarvisError } from '../core/errors.js';
import type { RunEvent, RunEventListener, RunResult, TaskResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage, ControllerModel } from '../core/llm.js';
import { HUGGING_FACE_TASKS, isTaskName } from '../core/tasks.js';
import { executePlan } from '../execute/index.js';
import { createController, requireController } from '../llm/index.js';
import { planningVocabulary } from '../mcp/vocabulary.js';
import { planTasks, validatePlan } from '../plan/index.js';
import { chatResponse, generateResponse } from '../respond/index.js';
import { selectModels } from '../select/index.js';
import type { RunOptions } from './types.js';
import { meteredController, UsageMeter } from './usage.js';

export type { RunOptions } from './types.js';

export interface Jarvis {
  readonly config: JarvisConfig;
  readonly catalog: Catalog;
  /** The configured controller, if any. */
  readonly controller: ControllerModel | undefined;
  /**
   * Runs stages 1-4. Task failures are reported in the result, never thrown. Throws ConfigError when the
   * LLM is needed but not configured, LlmError when planning cannot reach it, CancelledError on abort.
   */
  run(options: RunOptions): Promise<RunResult>;
  /** Stage 1 only. */
  plan(
    request: string,
    history?: ChatMessage[],
    signal?: AbortSignal,
  ): Promise<{ plan: TaskGraph; problems: string[]; ok: boolean }>;
  close(): Promise<void>;
}

export interface JarvisOverrides {
  /** Use this controller instead of the configured one; `null` for none. */
  controller?: ControllerModel | null;
  /** Use these backends instead of the built-in ones. */
  backends?: InferenceBackend[];
  /** Backends offered beside the built-in ones (or beside `backends`): a library user's own experts. */
  extraBackends?: InferenceBackend[];
  /** Model sources besides the backends (default: the catalog file and the Hub, as configured). */
  sources?: ModelSource[];
  /** Hears one-time notices such as "offline: using the Hub catalog cached 2 days ago". */
  onNotice?: (message: string) => void;
  /** Wraps every backend, e.g. to send its tasks to queue workers (`jarvis serve --queue`). */
  wrapBackend?: (backend: InferenceBackend) => InferenceBackend;
}

export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace(/\..*/, '').replace('T', '-');
  // 48 random bits: a server starting hundreds of runs a second drew the same 24 bits twice within a
  // second in one load test of 3,200 runs (the store then refused the second run).
  return `${stamp}-${randomBytes(6).toString('hex')}`;
}

/** Where a run's generated files go. */
export function runOutputDir(config: JarvisConfig, runId: string): string {
  return join(config.dataDir, 'runs', runId);
}

export async function createJarvis(config: JarvisConfig, overrides: JarvisOverrides = {}): Promise<Jarvis> {
  const onNotice = overrides.onNotice ?? ((message: string) => process.stderr.write(`jarvis: ${message}\n`));
  // A first LLM call may download the default model: its progress lines are notices, which the CLI's live
  // view prints above its table and the server writes to stderr.
  const controller =
    overrides.controller === null
      ? undefined
      : (overrides.controller ?? (await createController(config, { onProgress: onNotice })));
  const backends = [
    ...(overrides.backends ?? createBackends({ config, controller })),
    ...(overrides.extraBackends ?? []),
  ].map((backend) => overrides.wrapBackend?.(backend) ?? backend);
  // The catalog keys models by `backend:model`: a second backend with the same id would hide the first one's.
  const ids = backends.map((backend) => backend.id);
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  if (duplicate !== undefined) {
    throw new ConfigError(`Two backends have the id "${duplicate}"; give each backend its own id.`);
  }
  const sources = overrides.sources ?? createModelSources(config, { onNotice });
  const catalog = createCatalog({ backends, sources, mode: config.inference.mode, onNotice });

  /** Stage 1 with this pipeline's controller and settings. */
  async function planRequest(
    request: string,
    history: ChatMessage[] | undefined,
    signal: AbortSignal | undefined,
    onEvent?: RunEventListener,
    notice: (message: string) => void = onNotice,
    planner: ControllerModel | undefined = controller,
  ) {
    // MCP servers' tools join the built-in tasks (the servers start on the first plan that needs their list).
    const extended = await planningVocabulary(backends);
    // The planner lists only the tasks some model can run now (each listed task is paid for on every request,
    // and a plan naming another one could not run anyway): offline and without a token, the local ones; other
    // vocabularies' tools as they are.
    const names = (extended?.vocabulary ?? HUGGING_FACE_TASKS).names;
    const runnableNow = await catalog.runnableTasks();
    const runnable = names.filter((name) => !isTaskName(name) || runnableNow.has(name));
    return planTasks({
      ...(extended ?? {}),
      ...(runnable.some(isTaskName) ? { availableTasks: runnable } : {}),
      request,
      ...(history ? { history } : {}),
      controller: requireController(planner, 'Planning'),
      maxHistoryMessages: config.plan.maxHistoryMessages,
      ...(signal ? { signal } : {}),
      ...(onEvent ? { onEvent } : {}),
      onNotice: notice,
    });
  }

  async function run(options: RunOptions): Promise<RunResult> {
    const meter = new UsageMeter();
    // This run's view of the controller: every call through it, the experts' included, counts on its meter.
    const runController = controller ? meteredController(controller, meter) : undefined;
    const runId = options.runId ?? newRunId();
    const cwd = resolve(options.cwd ?? process.cwd());
    const outputDir = runOutputDir(config, runId);
    const startedAt = Date.now();
    const emit = (event: RunEvent) => options.onEvent?.(event);
    const errors: RunResult['errors'] = [];
    // What had to be cut to fit the controller's context is said once per run, not once per stage.
    const noticed = new Set<string>();
    const notice = (message: string) => {
      if (noticed.has(message)) return;
      noticed.add(message);
      onNotice(message);
    };
    const wantAnswer = options.answer ?? config.respond.enabled;
    const strategy = options.select ?? config.select.strategy;
    const signal = options.signal;
    let plan: TaskGraph = [];
    let tasks: TaskResult[] = [];
    let answer: string | null = null;
    const resultSoFar = (): RunResult => {
      const endedAt = Date.now();
      return {
        runId,
        request: options.request,
        plan,
        tasks,
        answer,
        usage: meter.report(),
        outputDir,
        startedAt,
        endedAt,
        durationMs: endedAt - startedAt,
        errors,
      };
    };
    // A cancelled run still reports what it did: the error carries the result so far.
    const checkCancelled = () => {
      if (signal?.aborted) {
        errors.push({ stage: 'run', code: 'cancelled', message: 'The run was cancelled' });
        throw new CancelledError('The run', resultSoFar());
      }
    };
    const fail = (stage: string, error: unknown) => {
      const code = error instanceof JarvisError ? error.code : 'error';
      const message = errorMessage(error);
      errors.push({ stage, code, message });
      emit({ type: 'run-error', stage, code, message, at: Date.now() });
    };

    // Everything the run needs from configuration is checked before it starts, so a missing LLM is one clear error.
    if (!options.plan) requireController(controller, 'Planning');
    if (wantAnswer) requireController(controller, 'Answering (stage 4)');

    emit({ type: 'run-start', runId, request: options.request, at: startedAt });

    if (options.plan) {
      const extended = await planningVocabulary(backends);
      const { plan: validated, problems } = validatePlan(options.plan as unknown[], extended ?? {});
      if (problems.length > 0) {
        throw new ConfigError(`The given plan is invalid: ${problems.join('; ')}`);
      }
      plan = validated;
      emit({ type: 'plan-done', plan, source: 'given', at: Date.now() });
    } else {
      const outcome = await planRequest(
        options.request,
        options.history,
        signal,
        emit,
        notice,
        runController,
      );
      plan = outcome.plan;
      if (!outcome.ok) {
        errors.push({ stage: 'plan', code: 'plan', message: outcome.problems.join('; ') || 'invalid plan' });
      }
    }
    checkCancelled();

    if (plan.length > 0) {
      const selection = await selectModels({
        plan,
        request: options.request,
        catalog,
        strategy,
        topK: config.select.topK,
        descriptionChars: config.select.descriptionChars,
        ...(runController ? { controller: runController } : {}),
        ...(signal ? { signal } : {}),
        onEvent: emit,
      });
      checkCancelled();
      tasks = await executePlan({
        plan,
        choices: selection.choices,
        unavailable: selection.unavailable,
        backends: catalog.backends,
        inputs: {
          cwd,
          allowedFiles: (options.inputFiles ?? []).map((file) => resolve(cwd, file)),
          allowedDirs: options.allowedDirs ?? [join(config.dataDir, 'runs')],
          allowPrivateUrls: config.execute.allowPrivateUrls,
          maxDownloadBytes: config.execute.maxDownloadBytes,
          urlTimeoutMs: config.execute.urlTimeoutMs,
        },
        outputDir,
        concurrency: config.execute.concurrency,
        taskTimeoutMs: config.execute.taskTimeoutMs,
        ...(runController ? { controller: runController } : {}),
        ...(signal ? { signal } : {}),
        onEvent: emit,
      });
    }
    checkCancelled();

    if (wantAnswer && runController) {
      emit({ type: 'response-start', at: Date.now() });
      const onDelta = (text: string) => emit({ type: 'response-delta', text, at: Date.now() });
      try {
        answer =
          plan.length === 0
            ? await chatResponse({
                request: options.request,
                ...(options.history ? { history: options.history } : {}),
                controller: runController,
                onDelta,
                onNotice: notice,
                ...(signal ? { signal } : {}),
              })
            : await generateResponse({
                request: options.request,
                ...(options.history ? { history: options.history } : {}),
                plan,
                results: tasks,
                controller: runController,
                roots: [cwd, config.dataDir],
                onDelta,
                onNotice: notice,
                ...(signal ? { signal } : {}),
              });
        emit({ type: 'response-done', answer, at: Date.now() });
      } catch (error) {
        checkCancelled();
        fail('respond', error);
      }
    }

    const result = resultSoFar();
    emit({ type: 'run-end', result, at: result.endedAt });
    return result;
  }

  return {
    config,
    catalog,
    controller,
    run,
    async plan(request, history, signal) {
      const { plan, problems, ok } = await planRequest(request, history, signal);
      return { plan, problems, ok };
    },
    async close() {
      await Promise.all(backends.map((backend) => backend.close?.()));
    },
  };
}
