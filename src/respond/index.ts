import { basename, dirname } from 'node:path';
import { fitMessages } from '../core/context-fit.js';
import type { TaskResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage, ControllerModel } from '../core/llm.js';
import { shownPath } from '../core/paths.js';

export interface RespondOptions {
  request: string;
  history?: ChatMessage[];
  plan: TaskGraph;
  results: TaskResult[];
  controller: ControllerModel;
  /**
   * File paths in the prompt are shown relative to the first of these folders that contains them (the
   * working directory, then Jarvis's data folder), else in full.
   */
  roots: string[];
  onDelta?: (text: string) => void;
  signal?: AbortSignal;
  /** Hears what was cut to fit the controller's context (older history, the middle of long texts). */
  onNotice?: (message: string) => void;
}

const SYSTEM_PROMPT = `#4 Response Generation Stage: you are Jarvis, who ran expert models on the user's request. You get the request and each task's model and result.
First answer the request directly and truthfully from the results; never invent a result. Say which tasks failed or were skipped, and why.
Then describe the workflow briefly: the tasks, the models used and why, and the files produced, naming each file.`;

const CHAT_PROMPT = `You are Jarvis, a helpful assistant that can also plan and run AI models (vision, speech, language) on files the user gives.
This message needs no model: answer it directly and concisely.`;

/** Longest result text or data shown; longer ones are cut with a marker (an OCR page, a transcript). */
const MAX_RESULT_CHARS = 600;
/** Longest text argument shown: the argument's source is usually another task's result, shown already. */
const MAX_ARGUMENT_CHARS = 200;
const MAX_REASON_CHARS = 120;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** A path as the user knows it: relative to the first root that contains it. */
function displayPath(path: string, roots: readonly string[]): string {
  return shownPath(path, roots);
}

/** The folder all generated files are in, when there is one, so each file is named by its name only. */
function commonFolder(results: readonly TaskResult[]): string | undefined {
  const folders = new Set(
    results
      .flatMap((result) => (result.status === 'succeeded' ? (result.output.artifacts ?? []) : []))
      .map((artifact) => dirname(artifact.path)),
  );
  return folders.size === 1 ? [...folders][0] : undefined;
}

/**
 * The execution log the LLM reads, compact: one JSON object per task and line, each result once (the text;
 * the data only when there is no text), long texts cut, the arguments as planned (`<GENERATED>-k`, not the
 * text it stood for), files by name when they share a folder (named once in `folder`), and the reason for
 * each model once (`models`: "tasks 0, 1: local:model: reason"), not once per task.
 */
export function describeResults(
  plan: TaskGraph,
  results: TaskResult[],
  roots: readonly string[],
): { models: string[]; folder: string | undefined; json: string } {
  const folder = commonFolder(results);
  const entries = results.map((result) => {
    const planned = plan.find((task) => task.id === result.id);
    const args = Object.fromEntries(
      Object.entries(planned?.args ?? result.args).map(([kind, value]) => [
        kind,
        kind === 'text' ? clip(value, MAX_ARGUMENT_CHARS) : value,
      ]),
    );
    const base = {
      id: result.id,
      task: result.task,
      args,
    };
    if (result.status !== 'succeeded') return { ...base, status: result.status, error: result.error.message };
    const { output } = result;
    const text = output.text?.trim();
    const files = (output.artifacts ?? []).map((artifact) => {
      const path = folder ? basename(artifact.path) : displayPath(artifact.path, roots);
      // A label that repeats the text ("detections: 1 zebra") says nothing new.
      return artifact.label && !(text && artifact.label.includes(text))
        ? `${path} (${artifact.label})`
        : path;
    });
    return {
      ...base,
      ...(output.how ? { how: clip(output.how, MAX_REASON_CHARS) } : {}),
      ...(text ? { text: clip(text, MAX_RESULT_CHARS) } : {}),
      ...(!text && output.data !== undefined
        ? { data: clip(JSON.stringify(output.data), MAX_RESULT_CHARS) }
        : {}),
      ...(files.length > 0 ? { files } : {}),
    };
  });
  // Which model ran each task and why, once per model and reason rather than once per task.
  const reasons = new Map<string, number[]>();
  for (const result of results) {
    if (!result.model || !result.reason) continue;
    const key = `${result.backend}:${result.model}: ${clip(result.reason, MAX_REASON_CHARS)}`;
    reasons.set(key, [...(reasons.get(key) ?? []), result.id]);
  }
  return {
    models: [...reasons].map(
      ([reason, ids]) => `- ${reason} (task${ids.length > 1 ? 's' : ''} ${ids.join(', ')})`,
    ),
    folder: folder === undefined ? undefined : displayPath(folder, roots),
    json: `[\n${entries.map((entry) => JSON.stringify(entry)).join(',\n')}\n]`,
  };
}

function resultsMessage(options: RespondOptions, cut: (text: string) => string): string {
  const { models, folder, json } = describeResults(options.plan, options.results, options.roots);
  const chosen = models.length > 0 ? `Models used, and why:\n${models.join('\n')}\n` : '';
  const where = folder ? `Generated files are in ${folder}/.\n` : '';
  return `${cut(options.request)}\n\n---\n${chosen}${where}Task results (JSON):\n${cut(json)}`;
}

/** Stage 4: the LLM answers from the results, then describes the workflow; streamed through onDelta. */
export async function generateResponse(options: RespondOptions): Promise<string> {
  const { messages, notices } = fitMessages({
    system: { role: 'system', content: SYSTEM_PROMPT },
    history: options.history ?? [],
    build: (cut) => resultsMessage(options, cut),
    contextTokens: options.controller.contextTokens,
    what: 'The request with its results',
  });
  for (const notice of notices) options.onNotice?.(notice);
  const reply = await options.controller.chat({
    stage: 'respond',
    messages,
    ...(options.onDelta ? { onDelta: options.onDelta } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return reply.text.trim();
}

/** An empty plan means "just chat": the LLM answers directly, with the conversation so far. */
export async function chatResponse(
  options: Omit<RespondOptions, 'plan' | 'results' | 'roots'>,
): Promise<string> {
  const { messages, notices } = fitMessages({
    system: { role: 'system', content: CHAT_PROMPT },
    history: options.history ?? [],
    build: (cut) => cut(options.request),
    contextTokens: options.controller.contextTokens,
    what: 'The request',
  });
  for (const notice of notices) options.onNotice?.(notice);
  const reply = await options.controller.chat({
    stage: 'chat',
    messages,
    ...(options.onDelta ? { onDelta: options.onDelta } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return reply.text.trim();
}
