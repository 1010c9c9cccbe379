import {
  InferenceClientHubApiError,
  InferenceClientInputError,
  InferenceClientProviderApiError,
  InferenceClientProviderOutputError,
} from '@huggingface/inference';
import {
  CancelledError,
  type ErrorContext,
  errorMessage,
  InferenceError,
  JarvisError,
  ModelUnavailableError,
  redact,
} from '../../core/errors.js';

/** HTTP status and body of a failed Hub or provider call, when the client kept them. */
export function httpFailure(error: unknown): { status: number; body: unknown } | undefined {
  if (error instanceof InferenceClientProviderApiError || error instanceof InferenceClientHubApiError) {
    return { status: error.httpResponse.status, body: error.httpResponse.body };
  }
  return undefined;
}

/** Seconds a loading model said it needs (`{"error": "... is currently loading", "estimated_time": 20}`). */
export function estimatedLoadSeconds(body: unknown): number | undefined {
  if (typeof body === 'object' && body !== null && 'estimated_time' in body) {
    const value = (body as { estimated_time: unknown }).estimated_time;
    if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  }
  return undefined;
}

/**
 * A clear task error for a failed call: what went wrong and what to do about it. 401/403 name the token,
 * 404 the model, 429 and 503 say to try later (retryable); anything else keeps the provider's message.
 */
export function toJarvisError(error: unknown, context: ErrorContext, token: string | undefined): JarvisError {
  if (error instanceof JarvisError) return error;
  const model = String(context.modelId ?? 'the model');
  const clean = (text: string): string => redact(text, [token]);
  if (error instanceof Error && error.name === 'AbortError') return new CancelledError('The task');
  const failure = httpFailure(error);
  if (failure) {
    const full = { ...context, status: failure.status };
    switch (failure.status) {
      case 401:
        return new ModelUnavailableError(
          `Hugging Face rejected the token (401) for ${model}: set HF_TOKEN to a valid access token (https://huggingface.co/settings/tokens)`,
          full,
        );
      case 403:
        return new ModelUnavailableError(
          `Hugging Face refused access to ${model} (403): the token lacks the "Inference Providers" permission or the model is gated; check HF_TOKEN's scopes and accept the model's terms on its page`,
          full,
        );
      case 404:
        return new ModelUnavailableError(
          `Model ${model} was not found on Hugging Face or no Inference Provider serves it (404)`,
          full,
        );
      case 429:
        return new InferenceError(
          `Hugging Face rate limit reached for ${model} (429), still limited after backing off: try again later or use a local model`,
          { cause: error, retryable: true, context: full },
        );
      case 503:
        return new InferenceError(
          `Model ${model} is still loading on Hugging Face (503): try again in a minute`,
          {
            cause: error,
            retryable: true,
            context: full,
          },
        );
      default:
        return new InferenceError(
          `${model} failed on Hugging Face (${failure.status}): ${clean(errorMessage(error))}`,
          {
            cause: error,
            retryable: failure.status >= 500,
            context: full,
          },
        );
    }
  }
  if (error instanceof InferenceClientInputError) {
    const message = clean(errorMessage(error));
    if (/inference provider|not supported for task|No Inference Provider/i.test(message)) {
      return new ModelUnavailableError(
        `No Inference Provider serves ${model} for ${context.task}: ${message}`,
        context,
      );
    }
    return new InferenceError(`Invalid request for ${model}: ${message}`, { cause: error, context });
  }
  if (error instanceof InferenceClientProviderOutputError) {
    return new InferenceError(`${model} answered in an unexpected form: ${clean(errorMessage(error))}`, {
      cause: error,
      context,
    });
  }
  // fetch failed: DNS, refused connection, no network; the cause says which.
  const cause = error instanceof Error ? (error.cause as { message?: unknown } | undefined) : undefined;
  const detail =
    typeof cause?.message === 'string' ? `${errorMessage(error)}: ${cause.message}` : errorMessage(error);
  return new InferenceError(`Could not reach Hugging Face for ${model}: ${clean(detail)}`, {
    cause: error,
    retryable: true,
    context,
  });
}
