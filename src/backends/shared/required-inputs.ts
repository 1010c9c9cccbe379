import type { InferenceRequest } from '../../core/backend.js';
import { InferenceError } from '../../core/errors.js';
import type { InputFile } from '../../core/output.js';

/** A task that cannot run with what it was given: the error names the task, model and backend. */
export function inputError(request: InferenceRequest, backend: string, message: string): InferenceError {
  return new InferenceError(message, {
    context: { task: request.task, modelId: request.modelId, backend },
  });
}

/** The request's text, or a clear error naming the task when the plan gave none. */
export function requireText(request: InferenceRequest, backend: string): string {
  const value = request.inputs.text;
  if (typeof value !== 'string' || value.trim() === '') {
    throw inputError(request, backend, `${request.task} needs a text input, and none was given`);
  }
  return value;
}

/** The request's image or audio file, or a clear error naming the task when the plan gave none. */
export function requireFile(request: InferenceRequest, kind: 'image' | 'audio', backend: string): InputFile {
  const value = request.inputs[kind];
  if (!value)
    throw inputError(request, backend, `${request.task} needs an ${kind} input, and none was given`);
  return value;
}
