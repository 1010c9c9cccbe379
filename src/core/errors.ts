import type { RunResult } from './events.js';

/**
 * Errors are classes with structured context; whether a retry may help is a property, not a guess.
 * Messages never contain secrets: use `redact` on anything that might.
 */
export interface ErrorContext {
  taskId?: number;
  task?: string;
  modelId?: string;
  backend?: string;
  endpoint?: string;
  status?: number;
  [key: string]: unknown;
}

export class JarvisError extends Error {
  readonly code: string;
  readonly retryable: boolean;
  readonly context: ErrorContext;

  constructor(
    code: string,
    message: string,
    options: { cause?: unknown; retryable?: boolean; context?: ErrorContext } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.retryable = options.retryable ?? false;
    this.context = options.context ?? {};
  }

  toJSON(): { code: string; message: string; retryable: boolean; context: ErrorContext } {
    return { code: this.code, message: this.message, retryable: this.retryable, context: this.context };
  }
}

/** Jarvis is not configured well enough to do what was asked; the message says what to set. */
export class ConfigError extends JarvisError {
  constructor(message: string, context?: ErrorContext) {
    super('config', message, { context });
  }
}

/** The controller LLM could not be reached or answered with an error. */
export class LlmError extends JarvisError {
  constructor(
    message: string,
    options: { cause?: unknown; retryable?: boolean; context?: ErrorContext } = {},
  ) {
    super('llm', message, options);
  }
}

/**
 * The LLM answered with more than Jarvis reads. A stage treats it as an unusable reply (a plan reply gets the
 * repair round, then the chat fallback), not as an unreachable LLM.
 */
export class LlmReplyTooLargeError extends LlmError {}

/** The plan could not be parsed or validated. */
export class PlanError extends JarvisError {
  readonly problems: string[];
  constructor(message: string, problems: string[], raw?: string) {
    super('plan', message, { context: raw === undefined ? {} : { raw } });
    this.problems = problems;
  }
}

/** An input (file path or URL) was refused or could not be read. */
export class InputError extends JarvisError {
  constructor(message: string, context?: ErrorContext) {
    super('input', message, { context });
  }
}

/** A model was asked for that no backend offers; the message lists what is available. */
export class NoSuchModelError extends JarvisError {
  constructor(modelId: string, available: string[], context?: ErrorContext) {
    const list = available.length > 0 ? available.join(', ') : 'none';
    super('no-such-model', `No such model "${modelId}". Available: ${list}`, {
      context: { ...context, modelId },
    });
  }
}

/** A backend cannot run a model now (missing package, no token, not in cache). */
export class ModelUnavailableError extends JarvisError {
  constructor(message: string, context?: ErrorContext) {
    super('model-unavailable', message, { context });
  }
}

/** An expert failed while running. */
export class InferenceError extends JarvisError {
  constructor(
    message: string,
    options: { cause?: unknown; retryable?: boolean; context?: ErrorContext } = {},
  ) {
    super('inference', message, options);
  }
}

export class TimeoutError extends JarvisError {
  constructor(what: string, ms: number, context?: ErrorContext) {
    super('timeout', `${what} timed out after ${ms} ms`, { retryable: true, context });
  }
}

export class CancelledError extends JarvisError {
  /** What a cancelled run had done by then (tasks finished, cancelled or skipped), when there was a run. */
  readonly partial: RunResult | undefined;

  constructor(what = 'The run', partial?: RunResult) {
    super('cancelled', `${what} was cancelled`);
    this.partial = partial;
  }
}

const SECRET_PATTERNS = [
  // OpenAI-style (sk-...), Hugging Face (hf_...) and Stripe-style keys; not words like "hf-inference".
  /\b(?:sk-|hf_|pk_|rk_)[A-Za-z0-9_-]{8,}/g,
  /(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi,
  /([?&](?:api[-_]?key|token|access_token)=)[^&\s]+/gi,
];

/** Removes API keys and bearer tokens from text that may be shown to a user or stored. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join('***');
  }
  for (const pattern of SECRET_PATTERNS) {
    out = out.replace(pattern, (_match, prefix: string) =>
      typeof prefix === 'string' && /^(Bearer\s+|[?&])/i.test(prefix) ? `${prefix}***` : '***',
    );
  }
  return out;
}

/** A message for any thrown value, without a stack. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
