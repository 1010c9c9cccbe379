import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import {
  APICallError,
  generateText,
  jsonSchema,
  type LanguageModel,
  type ModelMessage,
  NoObjectGeneratedError,
  Output,
  RetryError,
  streamText,
} from 'ai';
import type { JarvisConfig } from '../config/schema.js';
import { CancelledError, LlmError, redact, TimeoutError } from '../core/errors.js';
import type { ChatRequest, ChatResult, ControllerModel, TokenUsage } from '../core/llm.js';

export interface OpenAICompatibleSettings {
  baseURL: string;
  apiKey?: string;
  model: string;
  contextTokens: number;
  timeoutMs: number;
  maxRetries: number;
  structuredOutputs: boolean;
  temperature: number;
}

export function settingsFromConfig(config: JarvisConfig): OpenAICompatibleSettings | undefined {
  const { llm } = config;
  if (!llm.baseURL) return undefined;
  return {
    baseURL: llm.baseURL,
    model: llm.model,
    contextTokens: llm.contextTokens,
    timeoutMs: llm.timeoutMs,
    maxRetries: llm.maxRetries,
    structuredOutputs: llm.structuredOutputs,
    temperature: llm.temperature,
    ...(llm.apiKey ? { apiKey: llm.apiKey } : {}),
  };
}

/** Where a request went, without credentials. */
function describeEndpoint(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    url.username = '';
    url.password = '';
    url.search = '';
    return url.toString().replace(/\/$/, '');
  } catch {
    return baseURL;
  }
}

function innermostApiError(error: unknown): APICallError | undefined {
  if (APICallError.isInstance(error)) return error;
  if (RetryError.isInstance(error)) return innermostApiError(error.lastError);
  if (error instanceof Error && error.cause) return innermostApiError(error.cause);
  return undefined;
}

/** Turns whatever the AI SDK threw into one LlmError that names the endpoint and status, key redacted. */
function toLlmError(
  error: unknown,
  settings: OpenAICompatibleSettings,
  signals: { caller?: AbortSignal },
): Error {
  const endpoint = describeEndpoint(settings.baseURL);
  const secrets = [settings.apiKey];
  if (signals.caller?.aborted) return new CancelledError('The LLM call');
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return new TimeoutError(`LLM call to ${endpoint}`, settings.timeoutMs, { endpoint });
  }
  const apiError = innermostApiError(error);
  const attempts = RetryError.isInstance(error) ? ` after ${error.errors.length} attempts` : '';
  if (apiError) {
    const status = apiError.statusCode;
    let detail = apiError.message;
    if (apiError.responseBody) {
      try {
        const parsed = JSON.parse(apiError.responseBody) as { error?: { message?: string } | string };
        detail = typeof parsed.error === 'string' ? parsed.error : (parsed.error?.message ?? detail);
      } catch {
        detail = apiError.responseBody.slice(0, 300);
      }
    }
    const cause = apiError.cause as { code?: string } | undefined;
    const why =
      status === undefined
        ? `cannot connect${cause?.code ? ` (${cause.code})` : ''}: ${detail}`
        : `HTTP ${status}: ${detail}`;
    const hint =
      status === 401 || status === 403
        ? ' Check JARVIS_LLM_API_KEY.'
        : status === 404
          ? ` Check JARVIS_LLM_MODEL ("${settings.model}") and JARVIS_LLM_BASE_URL.`
          : status === undefined
            ? ' Is the server running? Set JARVIS_LLM_BASE_URL to a reachable OpenAI-compatible endpoint.'
            : '';
    return new LlmError(redact(`LLM request to ${endpoint} failed${attempts}, ${why}.${hint}`, secrets), {
      cause: error,
      retryable: apiError.isRetryable,
      context: { endpoint, ...(status === undefined ? {} : { status }), model: settings.model },
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new LlmError(redact(`LLM request to ${endpoint} failed${attempts}: ${message}`, secrets), {
    cause: error,
    context: { endpoint, model: settings.model },
  });
}

function usageOf(
  usage: { inputTokens?: number | undefined; outputTokens?: number | undefined } | undefined,
): TokenUsage {
  return { inputTokens: usage?.inputTokens ?? 0, outputTokens: usage?.outputTokens ?? 0 };
}

/**
 * The controller over any OpenAI-compatible chat completions endpoint (OpenAI, Azure, Ollama, vLLM,
 * llama.cpp server, LM Studio, the Hugging Face router), through the AI SDK's provider. The AI SDK retries
 * 429 and 5xx with exponential backoff and honours `Retry-After`.
 */
export function createOpenAICompatibleController(settings: OpenAICompatibleSettings): ControllerModel {
  const provider = createOpenAICompatible({
    name: 'jarvis-llm',
    baseURL: settings.baseURL,
    ...(settings.apiKey ? { apiKey: settings.apiKey } : {}),
    supportsStructuredOutputs: settings.structuredOutputs,
    includeUsage: true,
  });
  const model: LanguageModel = provider.chatModel(settings.model);

  async function chat(request: ChatRequest): Promise<ChatResult> {
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const abortSignal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    const system = request.messages
      .filter((message) => message.role === 'system')
      .map((message) => message.content)
      .join('\n\n');
    const messages: ModelMessage[] = request.messages
      .filter((message) => message.role !== 'system')
      .map((message) => ({ role: message.role as 'user' | 'assistant', content: message.content }));
    const common = {
      model,
      messages,
      ...(system ? { system } : {}),
      maxRetries: settings.maxRetries,
      abortSignal,
      temperature: request.temperature ?? settings.temperature,
      ...(request.maxOutputTokens ? { maxOutputTokens: request.maxOutputTokens } : {}),
    };
    try {
      if (request.onDelta) {
        let streamError: unknown;
        const result = streamText({
          ...common,
          onError: ({ error }) => {
            streamError = error;
          },
        });
        let text = '';
        for await (const delta of result.textStream) {
          text += delta;
          request.onDelta(delta);
        }
        if (streamError) throw streamError;
        return { text, usage: usageOf(await result.totalUsage) };
      }
      const output = request.jsonSchema
        ? Output.object({ schema: jsonSchema(request.jsonSchema.schema), name: request.jsonSchema.name })
        : undefined;
      try {
        const result = await generateText({ ...common, ...(output ? { output } : {}) });
        return { text: result.text, usage: usageOf(result.totalUsage) };
      } catch (error) {
        // The reply did not match the schema: the planner parses tolerantly and repairs, so keep the text.
        if (NoObjectGeneratedError.isInstance(error) && error.text !== undefined) {
          return { text: error.text, usage: usageOf(error.usage) };
        }
        throw error;
      }
    } catch (error) {
      throw toLlmError(error, settings, request.signal ? { caller: request.signal } : {});
    }
  }

  return {
    id: `openai-compatible:${settings.model}`,
    contextTokens: settings.contextTokens,
    chat,
  };
}
