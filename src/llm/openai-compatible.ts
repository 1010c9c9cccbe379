import type { APICallError } from 'ai';
import { createParser } from 'eventsource-parser';
import type { JarvisConfig } from '../config/schema.js';
import { CancelledError, LlmError, LlmReplyTooLargeError, redact, TimeoutError } from '../core/errors.js';
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

type AiSdk = typeof import('ai');

/**
 * The AI SDK, imported on the first LLM call for its error classes (APICallError, RetryError), in which failures
 * are described: its import is a few hundred milliseconds of start-up that `--help`, `models` and runs that
 * never call the LLM should not pay.
 */
let aiSdk: Promise<AiSdk> | undefined;
function loadAiSdk(): Promise<AiSdk> {
  aiSdk ??= import('ai');
  return aiSdk;
}

/** The name did not resolve: the host is misspelt, or this machine has no DNS (offline). */
const DNS_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
/** Nothing listens there, or there is no route to it. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);
/** The TLS handshake failed: an untrusted or mismatched certificate, or https to a plain-http port. */
const TLS_FAILURE =
  /^(?:CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|UNABLE_TO_(?:VERIFY|GET_ISSUER)|ERR_TLS_|ERR_SSL_|EPROTO$)/;

const BAD_PORT = 'ERR_BAD_PORT';

/**
 * The error code of a connection failure that retrying within seconds cannot heal (DNS, refused, TLS), found
 * along the cause chain of what fetch threw. Resets and timeouts are not among them: those may heal.
 */
export function unhealableConnectionCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
    // fetch refuses the ports browsers block (e.g. 1, 9, 25) before connecting; the error has no code.
    if (current.message === 'bad port') return BAD_PORT;
    const code = (current as NodeJS.ErrnoException).code;
    if (
      typeof code === 'string' &&
      (DNS_FAILURES.has(code) || UNREACHABLE.has(code) || TLS_FAILURE.test(code))
    )
      return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * fetch for the controller. Retrying every failed fetch (4 attempts over 14 s and more) would only delay the
 * error for a wrong address: a connection failure that cannot heal becomes an APICallError with
 * `isRetryable: false`, so the retry loop, which still handles 429, 5xx and resets, gives up at once. Its
 * cause is a plain object, not an Error, so that nothing looking for network codes along the chain of Errors
 * marks it retryable again.
 */
function failFastFetch(ai: AiSdk): typeof fetch {
  return async (input, init) => {
    try {
      return await capJsonReply(
        ai,
        await fetch(input, init),
        input instanceof Request ? input.url : String(input),
      );
    } catch (error) {
      const code = unhealableConnectionCode(error);
      if (code === undefined) throw error;
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
      const detail = cause instanceof Error ? cause.message : String(cause);
      throw new ai.APICallError({
        message: `Cannot connect to API: ${detail}`,
        url: input instanceof Request ? input.url : String(input),
        requestBodyValues: {},
        isRetryable: false,
        cause: { code, message: detail },
      });
    }
  };
}

/**
 * Largest non-streamed reply read: a JSON reply is read and parsed in one go on the event loop (a 700 KB reply
 * held it 63-248 ms when the AI SDK read it), while no plan, choice or answer Jarvis asks for comes near this
 * (a plan reply is refused past 100,000 characters anyway). Streamed replies are read piece by piece and
 * carry ~200 bytes of framing per token, so they are not capped here.
 */
export const MAX_JSON_REPLY_BYTES = 512 * 1024;

/** Marks the APICallError of an oversized reply, so that it becomes an LlmReplyTooLargeError. */
const REPLY_TOO_LARGE = 'jarvis:reply-too-large';

/**
 * Reads a JSON reply whole, refusing it past MAX_JSON_REPLY_BYTES by its Content-Length or as it arrives. The
 * bytes are read here in one loop and handed on as a new Response: piping the body through a counting
 * TransformStream cost more on every call (each web stream stage is several promises per chunk).
 */
async function capJsonReply(ai: AiSdk, response: Response, url: string): Promise<Response> {
  if (!response.body || !/json/i.test(response.headers.get('content-type') ?? '')) return response;
  /** `size`: what Content-Length declared, or nothing when the reply was cut off as it arrived. */
  const tooLarge = (size?: number) =>
    new ai.APICallError({
      message: `The LLM's reply is ${size === undefined ? 'over 512 KiB' : `${Math.round(size / 1024)} KiB`}; Jarvis reads at most ${MAX_JSON_REPLY_BYTES / 1024} KiB`,
      url,
      requestBodyValues: {},
      statusCode: response.status,
      isRetryable: false,
      data: REPLY_TOO_LARGE,
    });
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_JSON_REPLY_BYTES) {
    void response.body.cancel();
    throw tooLarge(declared);
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > MAX_JSON_REPLY_BYTES) {
      void reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return new Response(Buffer.concat(chunks), {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers,
  });
}

/** Statuses worth another try, as the AI SDK's retry loop decides for JSON replies. */
const RETRYABLE_STATUS = (status: number) =>
  status === 408 || status === 409 || status === 429 || status >= 500;

/** How long to wait before try `attempt` (1, 2, ...): the server's Retry-After, else 2 s doubling each time. */
function retryDelayMs(error: unknown, attempt: number): number {
  const headers = (error as { responseHeaders?: Record<string, string> }).responseHeaders ?? {};
  const milliseconds = Number(headers['retry-after-ms']);
  if (Number.isFinite(milliseconds) && milliseconds >= 0 && milliseconds <= 60_000) return milliseconds;
  const seconds = Number(headers['retry-after']);
  if (Number.isFinite(seconds) && seconds >= 0 && seconds <= 60) return seconds * 1000;
  return 2000 * 2 ** (attempt - 1);
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });

interface StreamedChunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/**
 * A streamed answer over the chat completions protocol itself: one POST, the server-sent events parsed as they
 * arrive (eventsource-parser), each text delta handed on. The AI SDK's streamText cost ~10 ms of CPU per
 * call against ~1.3 ms for the bare protocol (bench/llm-client.bench.ts), and a server streams every answer.
 * Failures keep the AI SDK's shape (APICallError, RetryError) so that one mapping names them, and the retry
 * rules are the same: 408, 409, 429, 5xx and dropped connections, Retry-After honoured, 2 s doubling
 * otherwise; nothing is retried once a delta has been handed on.
 */
async function completion(
  ai: AiSdk,
  settings: OpenAICompatibleSettings,
  body: Record<string, unknown>,
  abortSignal: AbortSignal,
  onDelta: ((text: string) => void) | undefined,
): Promise<ChatResult> {
  const url = `${settings.baseURL.replace(/\/+$/, '')}/chat/completions`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  const payload = JSON.stringify(
    onDelta ? { ...body, stream: true, stream_options: { include_usage: true } } : body,
  );
  const fetchReply = failFastFetch(ai);
  const errors: unknown[] = [];
  let delivered = false;
  for (let attempt = 1; ; attempt++) {
    try {
      let response: Response;
      try {
        response = await fetchReply(url, { method: 'POST', headers, body: payload, signal: abortSignal });
      } catch (error) {
        // A connection dropped or reset may heal; those that cannot (DNS, refused, TLS) are marked already.
        if (ai.APICallError.isInstance(error) || abortSignal.aborted) throw error;
        throw new ai.APICallError({
          message: `Cannot connect to API: ${errorMessageOf(error)}`,
          url,
          requestBodyValues: {},
          isRetryable: true,
          cause: error,
        });
      }
      if (!response.ok) {
        throw new ai.APICallError({
          message: response.statusText || `HTTP ${response.status}`,
          url,
          requestBodyValues: {},
          statusCode: response.status,
          responseHeaders: Object.fromEntries(response.headers),
          responseBody: await response.text(),
          isRetryable: RETRYABLE_STATUS(response.status),
        });
      }
      if (!onDelta) return readReply(response);
      let text = '';
      let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
      const parser = createParser({
        onEvent(event) {
          if (event.data === '[DONE]') return;
          const chunk = JSON.parse(event.data) as StreamedChunk;
          if (chunk.error) {
            const message = typeof chunk.error === 'string' ? chunk.error : chunk.error.message;
            throw new Error(`the LLM sent an error in its stream: ${message ?? 'unknown'}`);
          }
          const delta = chunk.choices?.[0]?.delta?.content;
          if (typeof delta === 'string' && delta !== '') {
            text += delta;
            delivered = true;
            onDelta(delta);
          }
          if (chunk.usage) {
            usage = {
              inputTokens: chunk.usage.prompt_tokens ?? 0,
              outputTokens: chunk.usage.completion_tokens ?? 0,
            };
          }
        },
      });
      const decoder = new TextDecoder();
      for await (const part of response.body as unknown as AsyncIterable<Uint8Array>) {
        parser.feed(decoder.decode(part, { stream: true }));
      }
      parser.feed(decoder.decode());
      return { text, usage };
    } catch (error) {
      if (abortSignal.aborted) throw error;
      errors.push(error);
      const retryable = !delivered && ai.APICallError.isInstance(error) && error.isRetryable;
      if (!retryable || attempt > settings.maxRetries) {
        if (errors.length === 1) throw error;
        throw new ai.RetryError({
          message: `Failed after ${errors.length} attempts. Last error: ${errorMessageOf(error)}`,
          reason: retryable ? 'maxRetriesExceeded' : 'errorNotRetryable',
          errors,
        });
      }
      await sleep(retryDelayMs(error, attempt), abortSignal);
    }
  }
}

interface JsonReply {
  choices?: { message?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/** The text and usage of a reply that is not streamed (already capped at MAX_JSON_REPLY_BYTES by its fetch). */
async function readReply(response: Response): Promise<ChatResult> {
  const raw = await response.text();
  let reply: JsonReply;
  try {
    reply = JSON.parse(raw) as JsonReply;
  } catch {
    throw new Error(`the LLM's reply is not JSON: ${raw.slice(0, 200)}`);
  }
  if (reply.error) {
    const message = typeof reply.error === 'string' ? reply.error : reply.error.message;
    throw new Error(`the LLM answered with an error: ${message ?? 'unknown'}`);
  }
  return {
    text: reply.choices?.[0]?.message?.content ?? '',
    usage: {
      inputTokens: reply.usage?.prompt_tokens ?? 0,
      outputTokens: reply.usage?.completion_tokens ?? 0,
    },
  };
}

const errorMessageOf = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** What to check for a connection failure, by its code. */
function connectionHint(code: string | undefined): string {
  if (code === BAD_PORT)
    return ' fetch refuses that port (browsers block it): set JARVIS_LLM_BASE_URL to an endpoint on another port.';
  if (code !== undefined && DNS_FAILURES.has(code))
    return ' Check the host name in JARVIS_LLM_BASE_URL, and that this machine is online.';
  if (code !== undefined && TLS_FAILURE.test(code))
    return ' The TLS handshake failed: check that the address (https or http) is right; a private CA can be trusted with NODE_EXTRA_CA_CERTS.';
  return ' Is the server running? Set JARVIS_LLM_BASE_URL to a reachable OpenAI-compatible endpoint.';
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

function innermostApiError(ai: AiSdk, error: unknown): APICallError | undefined {
  if (ai.APICallError.isInstance(error)) return error;
  if (ai.RetryError.isInstance(error)) return innermostApiError(ai, error.lastError);
  if (error instanceof Error && error.cause) return innermostApiError(ai, error.cause);
  return undefined;
}

/** Turns whatever the AI SDK threw into one LlmError that names the endpoint and status, key redacted. */
function toLlmError(
  ai: AiSdk,
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
  const apiError = innermostApiError(ai, error);
  const attempts = ai.RetryError.isInstance(error) ? ` after ${error.errors.length} attempts` : '';
  if (apiError?.data === REPLY_TOO_LARGE) {
    return new LlmReplyTooLargeError(`${apiError.message}.`, {
      cause: error,
      context: { endpoint, model: settings.model },
    });
  }
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
            ? connectionHint(cause?.code)
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

/**
 * The controller over any OpenAI-compatible chat completions endpoint (OpenAI, Azure, Ollama, vLLM,
 * llama.cpp server, LM Studio, the Hugging Face router), speaking the protocol directly over fetch (see
 * `completion`): 429, 5xx and connection resets are retried with exponential backoff honouring
 * `Retry-After`; a connection that cannot heal (DNS, refused, TLS) fails at once.
 */
export function createOpenAICompatibleController(settings: OpenAICompatibleSettings): ControllerModel {
  async function chat(request: ChatRequest): Promise<ChatResult> {
    const ai = await loadAiSdk();
    const timeout = AbortSignal.timeout(settings.timeoutMs);
    const abortSignal = request.signal ? AbortSignal.any([request.signal, timeout]) : timeout;
    // A JSON reply is asked for by its schema where the endpoint supports that, else as any JSON object. A
    // reply that does not match is still returned: the planner parses tolerantly and repairs.
    const responseFormat = request.jsonSchema
      ? settings.structuredOutputs
        ? {
            type: 'json_schema',
            json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema },
          }
        : { type: 'json_object' }
      : undefined;
    const body = {
      model: settings.model,
      messages: request.messages.map((message) => ({ role: message.role, content: message.content })),
      temperature: request.temperature ?? settings.temperature,
      ...(request.maxOutputTokens ? { max_tokens: request.maxOutputTokens } : {}),
      ...(responseFormat && !request.onDelta ? { response_format: responseFormat } : {}),
    };
    try {
      return await completion(ai, settings, body, abortSignal, request.onDelta);
    } catch (error) {
      throw toLlmError(ai, error, settings, request.signal ? { caller: request.signal } : {});
    }
  }

  return {
    id: `openai-compatible:${settings.model}`,
    contextTokens: settings.contextTokens,
    chat,
  };
}
