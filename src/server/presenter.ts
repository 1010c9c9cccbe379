import { isAbsolute, resolve, sep } from 'node:path';
import type { RunEvent, RunResult, TaskResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import { pathInside } from '../core/paths.js';
import { foldRunEvents } from '../core/run-state.js';
import type { TaskView } from './task-view.js';

export type { TaskView } from './task-view.js';

/**
 * Maps a file a run wrote to the URL that serves it, or null when it lies outside the run's folder; `hide`
 * rewrites the server's own paths in any text to the paths a client knows (`runs/<run id>/….png`, `kite.jpg`).
 */
export type FileUrlResolver = ((path: string) => string | null) & { hide?: (text: string) => string };

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Removes the server's folders from paths in `text`: a run's working folder (where uploads go by their
 * names), then the data folder (`runs/…`), so that no reply carries `/srv/…/.jarvis/…`.
 */
export function serverPathHider(dataDir: string): (text: string) => string {
  const root = escapeRegExp(resolve(dataDir));
  const pattern = new RegExp(
    `${root}${escapeRegExp(sep)}(?:workspaces${escapeRegExp(sep)}[^${escapeRegExp(sep)}]+${escapeRegExp(sep)})?`,
    'g',
  );
  return (text) => (text.includes(sep) ? text.replace(pattern, '') : text);
}

export function runFileResolver(
  runId: string,
  outputDir: string,
  sign: (path: string) => string,
  dataDir?: string,
): FileUrlResolver {
  const resolver: FileUrlResolver = (path) => {
    if (!isAbsolute(path)) return null;
    const inside = pathInside(outputDir, path);
    if (!inside) return null;
    const encoded = inside.split(sep).map(encodeURIComponent).join('/');
    return sign(`/v1/runs/${encodeURIComponent(runId)}/files/${encoded}`);
  };
  if (dataDir !== undefined) resolver.hide = serverPathHider(dataDir);
  return resolver;
}

const isArtifactLike = (value: Record<string, unknown>): boolean =>
  typeof value.path === 'string' && typeof value.mimeType === 'string' && typeof value.kind === 'string';

/**
 * A copy of `value` in which every artifact (`{kind, path, mimeType}`) also carries the `url` that serves it,
 * so clients never need to know where the server keeps its files.
 */
export function withFileUrls<T>(value: T, urlOf: FileUrlResolver): T {
  if (Array.isArray(value)) return value.map((item) => withFileUrls(item, urlOf)) as T;
  if (typeof value === 'string') return (urlOf.hide?.(value) ?? value) as T;
  if (value === null || typeof value !== 'object') return value;
  const record = value as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const [key, inner] of Object.entries(record)) copy[key] = withFileUrls(inner, urlOf);
  if (isArtifactLike(record)) copy.url = urlOf(record.path as string);
  return copy as T;
}

/** What the events of a run say so far: the plan, each task's state and model, the answer text. */
export interface RunProgress {
  plan: TaskGraph | null;
  tasks: TaskView[];
  answer: string;
  errors: { stage: string; code: string; message: string }[];
  result: RunResult | null;
}

export function summarizeEvents(events: readonly RunEvent[]): RunProgress {
  const state = foldRunEvents(events);
  return {
    plan: state.plan,
    tasks: [...state.tasks.values()].sort((a, b) => a.id - b.id),
    answer: state.answer,
    errors: state.errors,
    result: state.result,
  };
}

/** HuggingGPT's "inference result" of one task: `generated text`, `generated image`, ... or `error`. */
function hugginggptInference(task: TaskResult, urlOf: FileUrlResolver): Record<string, unknown> {
  if (task.status !== 'succeeded') return { error: task.error.message };
  const out: Record<string, unknown> = {};
  if (task.output.text !== undefined) out['generated text'] = task.output.text;
  for (const artifact of task.output.artifacts ?? []) {
    const name = `generated ${artifact.kind}`;
    if (!(name in out)) out[name] = urlOf(artifact.path) ?? artifact.path;
  }
  if (task.output.data !== undefined) out.predicted = task.output.data;
  return out;
}

/** The body of HuggingGPT's `/results`: task id -> task, inference result and the chosen model. */
export function hugginggptResults(
  result: RunResult,
  urlOf: FileUrlResolver,
): Record<string, { task: unknown; 'inference result': unknown; 'choose model result': unknown }> {
  const out: Record<string, { task: unknown; 'inference result': unknown; 'choose model result': unknown }> =
    {};
  for (const task of result.tasks) {
    const planned = result.plan.find((candidate) => candidate.id === task.id);
    out[String(task.id)] = {
      task: planned ?? { id: task.id, task: task.task, dep: [-1], args: task.args },
      'inference result': hugginggptInference(task, urlOf),
      'choose model result': task.model ? { id: task.model, reason: task.reason ?? '' } : '',
    };
  }
  return out;
}
