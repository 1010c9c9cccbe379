import type { TaskResult, TaskStatus } from '../core/events.js';

/**
 * One task of a run as clients see it: the planned task with its state, model and result so far. Kept apart
 * from the presenter, which needs Node, so that the web UI can import the type. The result is a parameter
 * because over HTTP its artifacts also carry the URLs that serve them.
 */
export interface TaskView<Result = TaskResult> {
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
  progress: string | null;
}
