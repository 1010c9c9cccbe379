import type { InferenceRequest } from '../../../core/backend.js';
import { CancelledError, InferenceError } from '../../../core/errors.js';
import type { InputFile } from '../../../core/output.js';

/** The request's text, or a clear error naming the task when the plan gave none. */
export function requireText(request: InferenceRequest): string {
  const text = request.inputs.text;
  if (typeof text !== 'string' || text.trim() === '') {
    throw new InferenceError(`${request.task} needs a text input, and none was given`, {
      context: { task: request.task, modelId: request.modelId, backend: 'local' },
    });
  }
  return text;
}

export function requireImage(request: InferenceRequest): InputFile {
  return requireFile(request, 'image');
}

export function requireAudio(request: InferenceRequest): InputFile {
  return requireFile(request, 'audio');
}

function requireFile(request: InferenceRequest, kind: 'image' | 'audio'): InputFile {
  const file = request.inputs[kind];
  if (!file) {
    throw new InferenceError(`${request.task} needs an ${kind} input, and none was given`, {
      context: { task: request.task, modelId: request.modelId, backend: 'local' },
    });
  }
  return file;
}

/** Stops before expensive work when the run was cancelled or the task timed out. */
export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError('The task');
}

/** "1 zebra", "2 zebras", "3 people": good enough for COCO labels and entity types. */
export function pluralize(count: number, noun: string): string {
  if (count === 1) return `${count} ${noun}`;
  const irregular: Record<string, string> = {
    person: 'people',
    mouse: 'mice',
    knife: 'knives',
    sheep: 'sheep',
  };
  const last = noun.split(' ').pop() ?? noun;
  const head = noun.slice(0, noun.length - last.length);
  const plural =
    irregular[last] ??
    (/(s|x|z|ch|sh)$/.test(last)
      ? `${last}es`
      : /[^aeiou]y$/.test(last)
        ? `${last.slice(0, -1)}ies`
        : `${last}s`);
  return `${count} ${head}${plural}`;
}
