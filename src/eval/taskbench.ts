import { appendFile, readFile } from 'node:fs/promises';
import { errorMessage } from '../core/errors.js';
import type { TaskGraph } from '../core/graph.js';
import type { ControllerModel } from '../core/llm.js';
import {
  defineTaskVocabulary,
  RESOURCE_KINDS,
  type ResourceKind,
  type TaskVocabulary,
} from '../core/tasks.js';
import { planTasks } from '../plan/index.js';
import type { TaskBenchTool } from './taskbench-metrics.js';

/** TaskBench's kinds as ours: `url` is text to us, and the list has one `Image`. */
function kindOf(type: string): ResourceKind {
  const kind = type.trim().toLowerCase();
  return (RESOURCE_KINDS as readonly string[]).includes(kind) ? (kind as ResourceKind) : 'text';
}

/** A tool list (`tool_desc.json`: `{"nodes": [...]}` or a bare list), checked; throws an Error saying what is wrong. */
export function readTaskBenchTools(json: unknown): TaskBenchTool[] {
  const nodes =
    typeof json === 'object' && json !== null && !Array.isArray(json)
      ? (json as { nodes?: unknown }).nodes
      : json;
  if (!Array.isArray(nodes) || nodes.length === 0) {
    throw new Error('the tool list must be {"nodes": [{"id", "desc", "input-type", "output-type"}, ...]}');
  }
  return nodes.map((node, index) => {
    const tool = node as Partial<TaskBenchTool>;
    const strings = (value: unknown) =>
      Array.isArray(value) && value.every((item) => typeof item === 'string');
    if (typeof tool?.id !== 'string' || !strings(tool['input-type']) || !strings(tool['output-type'])) {
      throw new Error(
        `tool ${index + 1} of the tool list needs "id" (a string), "input-type" and "output-type" (lists of strings)`,
      );
    }
    return tool as TaskBenchTool;
  });
}

/** TaskBench's tools as a planning vocabulary: names as TaskBench spells them, descriptions shown to the LLM. */
export function taskBenchVocabulary(tools: readonly TaskBenchTool[]): TaskVocabulary {
  return defineTaskVocabulary(
    tools.map((tool) => {
      const inputs = tool['input-type'].map(kindOf);
      const outputs = [...new Set(tool['output-type'].map(kindOf))];
      return {
        name: tool.id,
        ...(tool.desc ? { description: tool.desc } : {}),
        inputs,
        required: [...new Set(inputs)],
        outputs: outputs.length > 0 ? outputs : ['text'],
      };
    }),
  );
}

export interface TaskBenchResult {
  task_steps: string[];
  task_nodes: { task: string; arguments: string[] }[];
  task_links: { source: string; target: string }[];
}

/** A Jarvis plan in TaskBench's form: `<GENERATED>-k` becomes `<node-k>`, dependencies become links. */
export function toTaskBenchResult(plan: TaskGraph<string>): TaskBenchResult {
  return {
    task_steps: plan.map((task, index) => `Step ${index + 1}: ${task.task}`),
    task_nodes: plan.map((task) => ({
      task: task.task,
      arguments: RESOURCE_KINDS.flatMap((kind) => {
        const value = task.args[kind];
        return value === undefined ? [] : [value.replace(/<GENERATED>-(\d+)/g, '<node-$1>')];
      }),
    })),
    task_links: plan.flatMap((task) =>
      task.dep.filter((id) => id >= 0).map((id) => ({ source: plan[id]!.task, target: task.task })),
    ),
  };
}

/** The request of a gold row: `user_request` (TaskBench's data.json) or `instruction` (its later copies). */
export function requestOf(row: Record<string, unknown>): string | undefined {
  const request = row.user_request ?? row.instruction;
  return typeof request === 'string' && request.trim() !== '' ? request : undefined;
}

/** Gold rows from JSON lines; a line that is not a JSON object with an id is an Error naming the line. */
export function readGoldLines(text: string): Record<string, unknown>[] {
  const rows: Record<string, unknown>[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch (error) {
      throw new Error(`gold line ${index + 1} is not JSON (${errorMessage(error)})`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row) || !('id' in row)) {
      throw new Error(`gold line ${index + 1} is not a TaskBench row (an object with "id" and "task_nodes")`);
    }
    rows.push(row as Record<string, unknown>);
  });
  return rows;
}

const EMPTY_RESULT = (): TaskBenchResult => ({ task_steps: [], task_nodes: [], task_links: [] });

/**
 * Prediction rows from JSON lines, leniently: TaskBench's script stops at the first line that is not JSON;
 * here such a line counts as an empty prediction for the id it names (with a warning), or is skipped with a
 * warning when no id can be read from it. Rows without an id are skipped with a warning too.
 */
export function readPredictionLines(text: string): { rows: Record<string, unknown>[]; warnings: string[] } {
  const rows: Record<string, unknown>[] = [];
  const warnings: string[] = [];
  text.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      const id = /"id"\s*:\s*("(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?)/.exec(line)?.[1];
      if (id === undefined) {
        warnings.push(`prediction line ${index + 1} is not JSON and names no id; skipped`);
        return;
      }
      const parsedId = JSON.parse(id) as unknown;
      warnings.push(
        `prediction line ${index + 1} is not JSON; counted as an empty prediction for id ${JSON.stringify(parsedId)}`,
      );
      rows.push({ id: parsedId, result: EMPTY_RESULT() });
      return;
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row) || !('id' in row)) {
      warnings.push(`prediction line ${index + 1} is not an object with an "id"; skipped`);
      return;
    }
    rows.push(row as Record<string, unknown>);
  });
  return { rows, warnings };
}

export interface TaskBenchRunProgress {
  /** Requests planned in this run so far, and how many this run has to plan. */
  done: number;
  total: number;
  /** Already in the predictions file when the run started: not asked again. */
  resumed: number;
  llmCalls: number;
  inputTokens: number;
  outputTokens: number;
  /** LLM replies read, and those that were a valid plan as they came (a repaired reply counts once more). */
  replies: number;
  validReplies: number;
  /** Requests whose final plan was valid (possibly after the repair round). */
  validPlans: number;
  /** Requests whose planning call failed (network, HTTP error): written without a result, retried on a rerun. */
  failed: number;
}

export interface TaskBenchRunOptions {
  gold: readonly Record<string, unknown>[];
  vocabulary: TaskVocabulary;
  controller: ControllerModel;
  /** JSON lines, appended as requests finish; requests already predicted in it are skipped. */
  predictionsPath: string;
  /** Requests planned at once. Default 4. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: (progress: TaskBenchRunProgress) => void;
}

async function alreadyPredicted(path: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return new Set();
    throw error;
  }
  const { rows } = readPredictionLines(text);
  return new Set(rows.filter((row) => 'result' in row).map((row) => JSON.stringify(row.id)));
}

/**
 * Plans every gold request with Jarvis's stage 1 and the given vocabulary, appending one TaskBench
 * prediction line per request to `predictionsPath` as it finishes (so an interrupted run resumes where it
 * stopped). A plan that stays invalid after the repair round is predicted as no tools, as Jarvis would run
 * it; a failed LLM call is written as `{"id", "error"}` and asked again on the next run.
 */
export async function runTaskBenchPlanning(options: TaskBenchRunOptions): Promise<TaskBenchRunProgress> {
  const done = await alreadyPredicted(options.predictionsPath);
  const pending = options.gold.filter(
    (row) => requestOf(row) !== undefined && !done.has(JSON.stringify(row.id)),
  );
  const progress: TaskBenchRunProgress = {
    done: 0,
    total: pending.length,
    resumed: options.gold.length - pending.length,
    llmCalls: 0,
    inputTokens: 0,
    outputTokens: 0,
    replies: 0,
    validReplies: 0,
    validPlans: 0,
    failed: 0,
  };
  let writing = Promise.resolve();
  const write = (line: unknown) => {
    writing = writing.then(() => appendFile(options.predictionsPath, `${JSON.stringify(line)}\n`));
    return writing;
  };
  let next = 0;
  const worker = async () => {
    while (next < pending.length && !options.signal?.aborted) {
      const row = pending[next++]!;
      const request = requestOf(row)!;
      try {
        const outcome = await planTasks({
          request,
          controller: options.controller,
          vocabulary: options.vocabulary,
          ...(options.signal ? { signal: options.signal } : {}),
        });
        progress.llmCalls += outcome.llmCalls;
        progress.inputTokens += outcome.usage.inputTokens;
        progress.outputTokens += outcome.usage.outputTokens;
        progress.replies += outcome.llmCalls;
        if (outcome.ok) {
          progress.validReplies += 1;
          progress.validPlans += 1;
        }
        await write({
          id: row.id,
          user_request: request,
          result: toTaskBenchResult(outcome.plan),
          jarvis: { valid: outcome.ok, llm_calls: outcome.llmCalls, problems: outcome.problems },
        });
      } catch (error) {
        if (options.signal?.aborted) throw error;
        progress.failed += 1;
        await write({ id: row.id, user_request: request, error: errorMessage(error) });
      }
      progress.done += 1;
      options.onProgress?.({ ...progress });
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 4, pending.length));
  await Promise.all(Array.from({ length: workers }, worker));
  await writing;
  return progress;
}
