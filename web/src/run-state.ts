import {
  applyRunEvent,
  emptyRunState,
  type RunChange,
  type RunState as TaskStates,
} from '../../src/core/run-state.js';
import type { RunEvent, RunStatus, RunView, TaskResult } from './types.js';

/**
 * What the UI knows about one run: filled from `GET /v1/runs/:id` and then kept current by its events, through
 * the same reducer the server and the CLI use (src/core/run-state.ts).
 */
export interface RunState extends TaskStates<TaskResult> {
  id: string;
  status: RunStatus;
  durationMs: number | null;
}

export function emptyRun(id: string): RunState {
  return { ...emptyRunState<TaskResult>(), id, status: 'running', durationMs: null };
}

export function runFromView(view: RunView): RunState {
  return {
    ...emptyRunState<TaskResult>(),
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

/** Applies one event; returns what changed so the view can redraw only that. */
export function applyEvent(run: RunState, event: RunEvent): RunChange {
  const change = applyRunEvent(run, event);
  if (event.type === 'run-end') run.durationMs = event.result.durationMs;
  return change;
}
