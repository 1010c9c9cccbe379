import type { TaskResult } from '../core/events.js';
import type { TaskState } from '../core/run-state.js';

/**
 * One task of a run as clients see it: the planned task with its state, model and result so far (the one
 * reducer in src/core/run-state.ts builds it). Kept apart from the presenter, which needs Node, so that the
 * web UI can import the type. Over HTTP the result's artifacts also carry the URLs that serve them.
 */
export type TaskView<Result = TaskResult> = TaskState<Result>;
