import type { InferenceRequest } from '../../../core/backend.js';
import { CancelledError } from '../../../core/errors.js';
import type { InputFile } from '../../../core/output.js';
import { requireFile, requireText as requireTextOf } from '../../shared/required-inputs.js';

/** The request's text, or a clear error naming the task when the plan gave none. */
export function requireText(request: InferenceRequest): string {
  return requireTextOf(request, 'local');
}

export function requireImage(request: InferenceRequest): InputFile {
  return requireFile(request, 'image', 'local');
}

export function requireAudio(request: InferenceRequest): InputFile {
  return requireFile(request, 'audio', 'local');
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
