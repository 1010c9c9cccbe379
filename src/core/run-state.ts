/**
 * What a run's events say so far, folded into one state: the CLI's live view, the server's run API and the web
 * UI all read a run through this one reducer, so they can never disagree about a task's status, model or
 * result. Pure and free of Node APIs (the web UI bundles it).
 */
import type { RunEvent, RunResult, TaskResult, TaskStatus } from './events.js';
import type { TaskGraph } from './graph.js';

/**
 * One task of a run: the planned task with its state, model and result so far. The result is a parameter
 * because over HTTP its artifacts also carry the URLs that serve them.
 */
/** What the reducer reads of a task's result: the server's own, or the API's with file URLs. */
export type TaskResultLike = Pick<TaskResult, 'id' | 'status' | 'args' | 'model' | 'backend' | 'reason'>;

/** Run events whose task results are `Result` (the API sends them with file URLs). */
export type RunEventOf<Result extends TaskResultLike = TaskResult> =
  | Exclude<RunEvent, { type: 'task-end' }>
  | { type: 'task-end'; result: Result; at: number };

export interface TaskState<Result = TaskResult> {
  id: number;
  task: string;
  dep: number[];
  args: Record<string, string>;
  status: TaskStatus;
  model: string | null;
  backend: string | null;
  reason: string | null;
  candidates: string[];
  result: Result | null;
  /** The expert's latest progress message while it runs ("loading model", "started on worker gpu-1"). */
  progress: string | null;
  /** When it started (the event's clock, ms), while and after it runs. */
  startedAt: number | null;
}

export type RunStage = 'starting' | 'planning' | 'selecting' | 'running' | 'answering' | 'done';

export interface RunState<Result extends TaskResultLike = TaskResult> {
  stage: RunStage;
  plan: TaskGraph | null;
  /** Whether the plan came from the controller or was given (`--plan`, the API's `plan`). */
  planSource: 'llm' | 'given' | null;
  /** What the planner's last repair round was about. */
  planProblems: string[];
  /** Why planning failed, when it did. */
  planError: string | null;
  tasks: Map<number, TaskState<Result>>;
  answer: string;
  errors: { stage: string; code: string; message: string }[];
  result: RunResult | null;
}

/** Which part of the state an event changed, for views that redraw only that part. */
export type RunChange = 'tasks' | 'answer' | 'status';

export function emptyRunState<Result extends TaskResultLike = TaskResult>(): RunState<Result> {
  return {
    stage: 'starting',
    plan: null,
    planSource: null,
    planProblems: [],
    planError: null,
    tasks: new Map(),
    answer: '',
    errors: [],
    result: null,
  };
}

function plannedTask<Result>(task: TaskGraph[number]): TaskState<Result> {
  return {
    id: task.id,
    task: task.task,
    dep: [...task.dep],
    args: { ...task.args } as Record<string, string>,
    status: 'waiting',
    model: null,
    backend: null,
    reason: null,
    candidates: [],
    result: null,
    progress: null,
    startedAt: null,
  };
}

/**
 * Applies one event to `state` (in place: views that keep one state for a whole run redraw cheaply) and
 * says what changed. `Result` is the type of the events' task results (with or without file URLs).
 */
export function applyRunEvent<Result extends TaskResultLike = TaskResult>(
  state: RunState<Result>,
  event: RunEventOf<Result>,
): RunChange {
  switch (event.type) {
    case 'plan-start':
      state.stage = 'planning';
      return 'status';
    case 'plan-repair':
      state.stage = 'planning';
      state.planProblems = event.problems;
      return 'status';
    case 'plan-done':
      state.plan = event.plan;
      state.planSource = event.source;
      state.tasks = new Map(event.plan.map((task) => [task.id, plannedTask<Result>(task)]));
      state.stage = 'selecting';
      return 'tasks';
    case 'plan-error':
      state.planError = event.message;
      return 'status';
    case 'select-start':
      state.stage = 'selecting';
      return 'status';
    case 'select-done': {
      const task = state.tasks.get(event.choice.taskId);
      if (task) {
        task.model = event.choice.modelId;
        task.backend = event.choice.backend;
        task.reason = event.choice.reason;
        task.candidates = event.choice.candidates;
      }
      return 'tasks';
    }
    case 'task-start': {
      state.stage = 'running';
      const task = state.tasks.get(event.taskId);
      if (task) {
        task.status = 'running';
        task.model = event.model;
        task.backend = event.backend;
        task.startedAt = event.at;
      }
      return 'tasks';
    }
    case 'task-progress': {
      const task = state.tasks.get(event.taskId);
      if (task) task.progress = event.message;
      return 'tasks';
    }
    case 'task-end': {
      const result = event.result;
      const task = state.tasks.get(result.id);
      if (task) {
        task.status = result.status;
        task.result = result;
        task.args = result.args;
        task.model = result.model ?? task.model;
        task.backend = result.backend ?? task.backend;
        task.reason = result.reason ?? task.reason;
        task.progress = null;
      }
      return 'tasks';
    }
    case 'response-start':
      state.stage = 'answering';
      return 'status';
    case 'response-delta':
      state.answer += event.text;
      return 'answer';
    case 'response-done':
      state.answer = event.answer;
      return 'answer';
    case 'run-error':
      state.errors.push({ stage: event.stage, code: event.code, message: event.message });
      return 'status';
    case 'run-end':
      state.stage = 'done';
      state.result = event.result;
      if (event.result.answer !== null) state.answer = event.result.answer;
      return 'answer';
    default:
      return 'status';
  }
}

/** The state after all of `events`, from the start. */
export function foldRunEvents<Result extends TaskResultLike = TaskResult>(
  events: readonly RunEventOf<Result>[],
): RunState<Result> {
  const state = emptyRunState<Result>();
  for (const event of events) applyRunEvent(state, event);
  return state;
}
