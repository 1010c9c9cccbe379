import type { TaskGraph } from './graph.js';
import type { TaskOutput } from './output.js';
import type { TaskName } from './tasks.js';

export interface ModelChoice {
  taskId: number;
  modelId: string;
  backend: string;
  reason: string;
  /** The candidates that were offered, best first (`backend:model`). */
  candidates: string[];
}

interface TaskResultBase {
  id: number;
  task: TaskName;
  /** Arguments as actually used, after `<GENERATED>-k` was replaced. */
  args: Record<string, string>;
  model: string | null;
  backend: string | null;
  reason: string | null;
  startedAt: number | null;
  endedAt: number | null;
  durationMs: number | null;
}

/** A step result is a union tagged by `status`. */
export type TaskResult =
  | (TaskResultBase & { status: 'succeeded'; output: TaskOutput; error: null })
  | (TaskResultBase & { status: 'failed'; output: null; error: { code: string; message: string } })
  | (TaskResultBase & { status: 'skipped'; output: null; error: { code: 'skipped'; message: string } });

export type TaskStatus = 'waiting' | 'running' | TaskResult['status'];

export interface UsageReport {
  llmCalls: number;
  inputTokens: number;
  outputTokens: number;
  byStage: Record<string, { calls: number; inputTokens: number; outputTokens: number }>;
}

export interface RunResult {
  runId: string;
  request: string;
  plan: TaskGraph;
  tasks: TaskResult[];
  answer: string | null;
  usage: UsageReport;
  /** Folder with the files this run generated. */
  outputDir: string;
  startedAt: number;
  endedAt: number;
  durationMs: number;
  /** Set when a stage failed as a whole (planning could not produce a valid plan, ...). */
  errors: { stage: string; code: string; message: string }[];
}

/** Every stage reports progress as typed events. */
export type RunEvent =
  | { type: 'run-start'; runId: string; request: string; at: number }
  | { type: 'plan-start'; at: number }
  | { type: 'plan-repair'; problems: string[]; at: number }
  | { type: 'plan-done'; plan: TaskGraph; source: 'llm' | 'given'; at: number }
  | { type: 'plan-error'; message: string; problems: string[]; at: number }
  | { type: 'select-start'; taskIds: number[]; at: number }
  | { type: 'select-done'; choice: ModelChoice; at: number }
  | { type: 'task-start'; taskId: number; task: TaskName; model: string; backend: string; at: number }
  | { type: 'task-progress'; taskId: number; message: string; at: number }
  | { type: 'task-end'; result: TaskResult; at: number }
  | { type: 'response-start'; at: number }
  | { type: 'response-delta'; text: string; at: number }
  | { type: 'response-done'; answer: string; at: number }
  | { type: 'run-error'; stage: string; code: string; message: string; at: number }
  | { type: 'run-end'; result: RunResult; at: number };

export type RunEventListener = (event: RunEvent) => void;
