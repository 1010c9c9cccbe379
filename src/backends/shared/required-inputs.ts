import type { InferenceRequest } from '../../core/backend.js';
import { InferenceError } from '../../core/errors.js';
import type { InputFile } from '../../core/output.js';
import { splitLabels, splitQuestion, splitSentences } from './inputs.js';

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

/** Zero-shot classification's text and candidate labels ("... Labels: sports, politics"), or a clear error. */
export function requireLabelledText(
  request: InferenceRequest,
  backend: string,
): { text: string; labels: string[] } {
  const parsed = splitLabels(requireText(request, backend));
  if (!parsed) {
    throw inputError(
      request,
      backend,
      'zero-shot-classification needs candidate labels after the text, e.g. "... Labels: sports, politics"',
    );
  }
  return parsed;
}

/** Sentence similarity's source sentence and the others to compare it with, one per line, or a clear error. */
export function requireSentences(
  request: InferenceRequest,
  backend: string,
): { source: string; others: string[] } {
  const split = splitSentences(requireText(request, backend));
  if (!split) {
    throw inputError(
      request,
      backend,
      'sentence-similarity needs a source sentence and at least one other, one per line',
    );
  }
  return split;
}

/** Question answering's question and the context to find the answer in, or a clear error. */
export function requireQuestion(
  request: InferenceRequest,
  backend: string,
): { question: string; context: string } {
  const parts = splitQuestion(requireText(request, backend));
  if (!parts) {
    throw inputError(
      request,
      backend,
      'question-answering needs a question and a context: "Where did Turing live?\\nAlan Turing lived in Wilmslow."',
    );
  }
  return parts;
}
