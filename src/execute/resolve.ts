import { rm } from 'node:fs/promises';
import { basename } from 'node:path';
import {
  GENERATED_PATTERN,
  InputError,
  type InputFile,
  type PlannedTask,
  RESOURCE_KINDS,
  type ResolvedInputs,
  type ResourceKind,
  type TaskOutput,
  type TaskResult,
} from '../core/index.js';
import type { ArtifactDirectory } from './artifacts.js';
import { type FileKind, type InputPolicy, type LocalInput, resolveInputFile } from './inputs.js';
import { checkInputFile } from './media-checks.js';

/** `<GENERATED>-k` anywhere inside a text argument ("Describe <GENERATED>-0 in French"). */
const GENERATED_ANYWHERE = /<GENERATED>-(\d+)/g;

const RESOURCE_SET = new Set<string>(RESOURCE_KINDS);

function isResourceKind(name: string): name is ResourceKind {
  return RESOURCE_SET.has(name);
}

/** Every task id a task's arguments refer to through `<GENERATED>-k`. */
export function referencedTasks(task: PlannedTask): number[] {
  const ids = new Set<number>();
  for (const value of Object.values(task.args)) {
    if (typeof value !== 'string') continue;
    for (const match of value.matchAll(GENERATED_ANYWHERE)) ids.add(Number(match[1]));
  }
  return [...ids];
}

export interface ResolveContext {
  /** Results of the tasks that have finished, by id. */
  results: ReadonlyMap<number, TaskResult>;
  policy: InputPolicy;
  directory: ArtifactDirectory;
  signal: AbortSignal;
}

export interface ResolvedArguments {
  /** The arguments as the expert receives them (generated references replaced, files as real paths). */
  args: Record<string, string>;
  inputs: ResolvedInputs;
  /** Private copies made of local files for this task; the caller removes them when the task has ended. */
  copies: string[];
}

function describeOutput(output: TaskOutput): string {
  const parts: string[] = [];
  if (output.text !== undefined) parts.push('text');
  if (output.data !== undefined) parts.push('data');
  for (const artifact of output.artifacts ?? []) parts.push(artifact.kind);
  return parts.length > 0 ? [...new Set(parts)].join(', ') : 'nothing';
}

function producerOutput(taskId: number, sourceId: number, context: ResolveContext): TaskOutput {
  const source = context.results.get(sourceId);
  if (!source) {
    throw new InputError(`task ${taskId} uses the output of task ${sourceId}, which has not run`, {
      taskId,
      source: sourceId,
    });
  }
  if (source.status !== 'succeeded') {
    throw new InputError(`task ${taskId} uses the output of task ${sourceId}, which ${source.status}`, {
      taskId,
      source: sourceId,
    });
  }
  return source.output;
}

function generatedText(taskId: number, sourceId: number, context: ResolveContext): string {
  const output = producerOutput(taskId, sourceId, context);
  if (output.text !== undefined) return output.text;
  if (output.data !== undefined) return JSON.stringify(output.data);
  throw new InputError(
    `task ${taskId} needs text from task ${sourceId}, but task ${sourceId} produced ${describeOutput(output)}`,
    { taskId, source: sourceId },
  );
}

function generatedFile(taskId: number, sourceId: number, kind: FileKind, context: ResolveContext): InputFile {
  const output = producerOutput(taskId, sourceId, context);
  const artifact = output.artifacts?.find((candidate) => candidate.kind === kind);
  if (!artifact) {
    throw new InputError(
      `task ${taskId} needs ${kind === 'image' ? 'an image' : kind === 'audio' ? 'audio' : 'a video'} from task ` +
        `${sourceId}, but task ${sourceId} produced ${describeOutput(output)}`,
      { taskId, source: sourceId },
    );
  }
  return { path: artifact.path, mimeType: artifact.mimeType };
}

/**
 * Replaces `<GENERATED>-k` by what task k produced (of the argument's kind) and turns file arguments into
 * readable files under the input policy.
 */
export async function resolveArguments(
  task: PlannedTask,
  context: ResolveContext,
): Promise<ResolvedArguments> {
  const args: Record<string, string> = {};
  const inputs: ResolvedInputs = {};
  const copies: string[] = [];
  try {
    for (const [name, raw] of Object.entries(task.args)) {
      if (raw === undefined || raw === null) continue;
      const value = String(raw);
      if (!isResourceKind(name)) {
        // Not something an expert consumes; kept so the record shows what the plan said.
        args[name] = value;
        continue;
      }
      if (name === 'text') {
        const text = value.replace(GENERATED_ANYWHERE, (_match, id: string) =>
          generatedText(task.id, Number(id), context),
        );
        args.text = text;
        inputs.text = text;
        continue;
      }
      const reference = GENERATED_PATTERN.exec(value.trim());
      const file = reference
        ? generatedFile(task.id, Number(reference[1]), name, context)
        : await resolveInputFile(value, name, {
            policy: context.policy,
            directory: context.directory,
            signal: context.signal,
          });
      const source = (file as Partial<LocalInput>).source;
      if (source !== undefined) copies.push(file.path);
      const shownName = basename(source ?? file.path);
      await checkInputFile({ ...file, name: shownName }, name);
      // The record names the file as the plan did (the user's name, a URL), never a server path; a generated
      // file by its path. The expert reads the private copy made of it.
      args[name] = reference ? file.path : value;
      inputs[name] = { path: file.path, mimeType: file.mimeType, name: shownName };
    }
  } catch (error) {
    // A later argument failed: the copies made for the earlier ones are nobody's to remove otherwise.
    await Promise.all(copies.map((path) => rm(path, { force: true }).catch(() => {})));
    throw error;
  }
  return { args, inputs, copies };
}
