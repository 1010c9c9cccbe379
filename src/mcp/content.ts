import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { RunResult, TaskResult } from '../core/events.js';
import type { Artifact } from '../core/output.js';
import { runFileUri } from './inputs.js';

/** Generated images and audio up to this size travel inside the tool result; larger ones only as links. */
export const MAX_INLINE_BYTES = 8 * 1024 * 1024;

type Content = CallToolResult['content'][number];

export interface FileView {
  uri: string;
  kind: Artifact['kind'];
  mimeType: string;
  label?: string;
}

/** The `jarvis://` URI of a file a run wrote in its own folder, or undefined for any other file. */
function uriOf(result: RunResult, artifact: Artifact): string | undefined {
  if (resolve(dirname(artifact.path)) !== resolve(result.outputDir)) return undefined;
  return runFileUri(result.runId, basename(artifact.path));
}

/** A task's outcome as MCP content: its text, generated images and audio inline, links to every file. */
export async function taskContent(result: RunResult, task: TaskResult): Promise<Content[]> {
  if (task.status !== 'succeeded') {
    return [{ type: 'text', text: `Task ${task.id} (${task.task}) ${task.status}: ${task.error.message}` }];
  }
  const content: Content[] = [];
  const { output } = task;
  const text = output.text ?? (output.data === undefined ? undefined : JSON.stringify(output.data));
  if (text) content.push({ type: 'text', text });
  for (const artifact of output.artifacts ?? []) {
    const uri = uriOf(result, artifact);
    if (artifact.kind === 'image' || artifact.kind === 'audio') {
      const size = await stat(artifact.path).then(
        (info) => info.size,
        () => Number.POSITIVE_INFINITY,
      );
      if (size <= MAX_INLINE_BYTES) {
        const data = (await readFile(artifact.path)).toString('base64');
        content.push({ type: artifact.kind, data, mimeType: artifact.mimeType });
      }
    }
    if (uri) {
      content.push({
        type: 'resource_link',
        uri,
        name: basename(artifact.path),
        mimeType: artifact.mimeType,
        ...(artifact.label ? { description: artifact.label } : {}),
      });
    }
  }
  if (content.length === 0) content.push({ type: 'text', text: `Task ${task.id} (${task.task}) succeeded.` });
  return content;
}

/** What structured content says about one task: its data, text and files, the model that ran it. */
export function taskView(result: RunResult, task: TaskResult) {
  const files: FileView[] = [];
  for (const artifact of task.output?.artifacts ?? []) {
    const uri = uriOf(result, artifact);
    if (uri)
      files.push({
        uri,
        kind: artifact.kind,
        mimeType: artifact.mimeType,
        ...(artifact.label ? { label: artifact.label } : {}),
      });
  }
  return {
    id: task.id,
    task: task.task,
    status: task.status,
    model: task.model,
    backend: task.backend,
    ...(task.output?.text === undefined ? {} : { text: task.output.text }),
    ...(task.output?.data === undefined ? {} : { data: task.output.data }),
    files,
    ...(task.error ? { error: task.error } : {}),
  };
}

/** A run's outcome as a tool result: the answer (if any), each task's content, and the whole as structured data. */
export async function runToolResult(
  result: RunResult,
  options: { single: boolean },
): Promise<CallToolResult> {
  const content: Content[] = [];
  if (result.answer) content.push({ type: 'text', text: result.answer });
  for (const task of result.tasks) content.push(...(await taskContent(result, task)));
  for (const error of result.errors) content.push({ type: 'text', text: `${error.stage}: ${error.message}` });
  if (content.length === 0) content.push({ type: 'text', text: 'Nothing to report.' });
  const tasks = result.tasks.map((task) => taskView(result, task));
  const failed =
    result.errors.length > 0 ||
    (result.tasks.length > 0 && result.tasks.every((task) => task.status !== 'succeeded'));
  const structuredContent = options.single
    ? { runId: result.runId, ...(tasks[0] ?? {}) }
    : { runId: result.runId, answer: result.answer, tasks };
  return { content, structuredContent, ...(failed ? { isError: true } : {}) };
}
