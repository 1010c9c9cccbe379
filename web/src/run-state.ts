import type { PlannedTask, RunEvent, RunStatus, RunView, TaskView } from './types.js';

/** What the UI knows about one run: filled from `GET /v1/runs/:id` and then kept current by its events. */
export interface RunState {
  id: string;
  status: RunStatus;
  stage: 'starting' | 'planning' | 'selecting' | 'running' | 'answering' | 'done';
  plan: PlannedTask[] | null;
  tasks: Map<number, TaskView>;
  answer: string;
  errors: { stage: string; code: string; message: string }[];
  durationMs: number | null;
}

export function emptyRun(id: string): RunState {
  return {
    id,
    status: 'running',
    stage: 'starting',
    plan: null,
    tasks: new Map(),
    answer: '',
    errors: [],
    durationMs: null,
  };
}

export function runFromView(view: RunView): RunState {
  return {
    id: view.id,
    status: view.status,
    stage: view.status === 'running' ? 'running' : 'done',
    plan: view.plan,
    tasks: new Map(view.tasks.map((task) => [task.id, task])),
    answer: view.answer ?? '',
    errors: view.errors.length > 0 ? view.errors : view.error ? [{ stage: 'run', ...view.error }] : [],
    durationMs: view.durationMs,
  };
}

function taskOf(plan: PlannedTask): TaskView {
  return {
    id: plan.id,
    task: plan.task,
    dep: plan.dep,
    args: plan.args,
    status: 'waiting',
    model: null,
    backend: null,
    reason: null,
    candidates: [],
    result: null,
    progress: null,
  };
}

/** Applies one event; returns what changed so the view can redraw only that. */
export function applyEvent(run: RunState, event: RunEvent): 'tasks' | 'answer' | 'status' {
  switch (event.type) {
    case 'plan-start':
    case 'plan-repair':
      run.stage = 'planning';
      return 'status';
    case 'plan-done':
      run.plan = event.plan;
      run.tasks = new Map(event.plan.map((task) => [task.id, taskOf(task)]));
      run.stage = 'selecting';
      return 'tasks';
    case 'select-start':
      run.stage = 'selecting';
      return 'status';
    case 'select-done': {
      const task = run.tasks.get(event.choice.taskId);
      if (task) {
        task.model = event.choice.modelId;
        task.backend = event.choice.backend;
        task.reason = event.choice.reason;
        task.candidates = event.choice.candidates;
      }
      return 'tasks';
    }
    case 'task-start': {
      run.stage = 'running';
      const task = run.tasks.get(event.taskId);
      if (task) {
        task.status = 'running';
        task.model = event.model;
        task.backend = event.backend;
      }
      return 'tasks';
    }
    case 'task-progress': {
      const task = run.tasks.get(event.taskId);
      if (task) task.progress = event.message;
      return 'tasks';
    }
    case 'task-end': {
      const task = run.tasks.get(event.result.id);
      if (task) {
        task.status = event.result.status;
        task.result = event.result;
        task.args = event.result.args;
        task.model = event.result.model ?? task.model;
        task.reason = event.result.reason ?? task.reason;
        task.progress = null;
      }
      return 'tasks';
    }
    case 'response-start':
      run.stage = 'answering';
      return 'status';
    case 'response-delta':
      run.answer += event.text;
      return 'answer';
    case 'response-done':
      run.answer = event.answer;
      return 'answer';
    case 'plan-error':
      return 'status';
    case 'run-error':
      run.errors.push({ stage: event.stage, code: event.code, message: event.message });
      return 'status';
    case 'run-end':
      run.stage = 'done';
      run.durationMs = event.result.durationMs;
      if (event.result.answer) run.answer = event.result.answer;
      return 'answer';
    default:
      return 'status';
  }
}
