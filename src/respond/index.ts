import { isAbsolute, relative } from 'node:path';
import type { TaskResult } from '../core/events.js';
import type { TaskGraph } from '../core/graph.js';
import type { ChatMessage, ControllerModel } from '../core/llm.js';

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
}

const SYSTEM_PROMPT = `#4 Response Generation Stage: you are Jarvis, an assistant that solved the user's request by running expert models.
You are given the user's request, the task plan, the model chosen for each task and each task's result (text, data and the files it generated).
First answer the user's request directly and truthfully from these results; never invent results that are not there. If tasks failed or were skipped, say so and why.
Then describe the workflow briefly: the tasks, the models used and why, and the files produced, naming each file by its path.`;

const CHAT_PROMPT = `You are Jarvis, a helpful assistant that can also plan and run AI models (vision, speech, language) on files the user gives.
This message needs no model: answer it directly and concisely.`;

const MAX_DATA_CHARS = 1500;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length - max} more characters)`;
}

/** The execution log the LLM reads: one compact entry per task, file paths relative to the working directory. */
/** A path as the user knows it: relative to the first root that contains it. */
function displayPath(path: string, roots: readonly string[]): string {
  for (const root of roots) {
    const shown = relative(root, path);
    if (shown && !shown.startsWith('..') && !isAbsolute(shown)) return shown;
  }
  return path;
}

export function describeResults(plan: TaskGraph, results: TaskResult[], roots: readonly string[]): string {
  const entries = results.map((result) => {
    const planned = plan.find((task) => task.id === result.id);
    const base = {
      id: result.id,
      task: result.task,
      dep: planned?.dep ?? [-1],
      args: result.args,
      model: result.model ? `${result.backend}:${result.model}` : null,
      reason: result.reason,
      status: result.status,
    };
    if (result.status !== 'succeeded') return { ...base, error: result.error.message };
    const { output } = result;
    return {
      ...base,
      ...(output.text === undefined ? {} : { text: clip(output.text, MAX_DATA_CHARS) }),
      ...(output.data === undefined ? {} : { data: clip(JSON.stringify(output.data), MAX_DATA_CHARS) }),
      ...(output.artifacts?.length
        ? {
            files: output.artifacts.map((artifact) => ({
              path: displayPath(artifact.path, roots),
              type: artifact.mimeType,
              ...(artifact.label ? { label: artifact.label } : {}),
            })),
          }
        : {}),
    };
  });
  return JSON.stringify(entries, null, 1);
}

/** Stage 4: the LLM answers from the results, then describes the workflow; streamed through onDelta. */
export async function generateResponse(options: RespondOptions): Promise<string> {
  const messages: ChatMessage[] = [
    { role: 'system', content: SYSTEM_PROMPT },
    ...(options.history ?? []),
    {
      role: 'user',
      content: `${options.request}\n\n---\nTask results (JSON):\n${describeResults(options.plan, options.results, options.roots)}`,
    },
  ];
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
  const reply = await options.controller.chat({
    stage: 'chat',
    messages: [
      { role: 'system', content: CHAT_PROMPT },
      ...(options.history ?? []),
      { role: 'user', content: options.request },
    ],
    ...(options.onDelta ? { onDelta: options.onDelta } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return reply.text.trim();
}
