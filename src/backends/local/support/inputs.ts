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

export { pluralize } from '../../shared/detections.js';
