import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { APICallError } from 'ai';
import { createParser } from 'eventsource-parser';
import type { JarvisConfig } from '../config/schema.js';
import { CancelledError, LlmError, LlmReplyTooLargeError, redact, TimeoutError } from '../core/errors.js';
import type { ChatRequest, ChatResult, ControllerModel, TokenUsage } from '../core/llm.js';
import { retryAfterMs } from '../core/retry-after.js';

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

/**
 * The error code of a connection failure that retrying within seconds cannot heal (DNS, refused, TLS), found
 * along the error's cause chain. Resets and timeouts are not among them: those may heal.
 */
export function unhealableConnectionCode(error: unknown): string | undefined {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current instanceof Error && !seen.has(current)) {
    seen.add(current);
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
 * Largest non-streamed reply read: a JSON reply is read and parsed in one go on the event loop (a 700 KB reply
 * held it 63-248 ms when the AI SDK read it), while no plan, choice or answer Jarvis asks for comes near this
 * (a plan reply is refused past 100,000 characters anyway). Streamed replies are read piece by piece and
 * carry ~200 bytes of framing per token, so they are not capped here.
 */
export const MAX_JSON_REPLY_BYTES = 512 * 1024;

/** Marks the APICallError of an oversized reply, so that it becomes an LlmReplyTooLargeError. */
const REPLY_TOO_LARGE = 'jarvis:reply-too-large';

/**
 * Connections to the LLM, kept open between calls. `node:http` rather than fetch: on the same calls fetch
 * (undici and its web streams, Request, Response and AbortSignal objects) cost about three times the CPU,
 * 0.8 against 0.3 ms per call (bench/llm-client.bench.ts), and a server turn makes two or three calls.
 */
const agents = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

/**
 * One call's end, by timeout or by the caller's signal, without AbortSignal objects (each costs more than the
 * rest of a call's bookkeeping): what is waiting on the call subscribes with `onEnd`.
 */
class CallControl {
  /** Why the call ended early: a TimeoutError or an AbortError (the caller cancelled). */
  reason: Error | undefined;
  cancelledByCaller = false;
  private readonly listeners = new Set<(reason: Error) => void>();
  private readonly timer: NodeJS.Timeout;
  private readonly caller: AbortSignal | undefined;
  private readonly onCallerAbort = () => {
    this.cancelledByCaller = true;
    this.end(Object.assign(new Error('The LLM call was cancelled'), { name: 'AbortError' }));
  };

  constructor(timeoutMs: number, caller: AbortSignal | undefined) {
    this.caller = caller;
    this.timer = setTimeout(
      () => this.end(Object.assign(new Error('The LLM call timed out'), { name: 'TimeoutError' })),
      timeoutMs,
    );
    if (caller?.aborted) this.onCallerAbort();
    else caller?.addEventListener('abort', this.onCallerAbort, { once: true });
  }

  private end(reason: Error): void {
    if (this.reason) return;
    this.reason = reason;
    clearTimeout(this.timer);
    for (const listener of this.listeners) listener(reason);
    this.listeners.clear();
  }

  /** Calls `listener` once the call ends early; returns the unsubscription. */
  onEnd(listener: (reason: Error) => void): () => void {
    if (this.reason) {
      listener(this.reason);
      return () => {};
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.caller?.removeEventListener('abort', this.onCallerAbort);
    this.listeners.clear();
  }
}

/** Statuses worth another try, as the AI SDK's retry loop decides for JSON replies. */
const RETRYABLE_STATUS = (status: number) =>
  status === 408 || status === 409 || status === 429 || status >= 500;

/** How long to wait before try `attempt` (1, 2, ...): the server's Retry-After, else 2 s doubling each time. */
function retryDelayMs(error: unknown, attempt: number): number {
  const headers = (error as { responseHeaders?: Record<string, string> }).responseHeaders ?? {};
  const milliseconds = Number(headers['retry-after-ms']);
  if (Number.isFinite(milliseconds) && milliseconds >= 0 && milliseconds <= 60_000) return milliseconds;
  const hinted = retryAfterMs(headers['retry-after']);
  if (hinted !== undefined && hinted <= 60_000) return hinted;
  return 2000 * 2 ** (attempt - 1);
}

const sleep = (ms: number, call: CallControl) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      resolve();
    }, ms);
    const stop = call.onEnd((reason) => {
      clearTimeout(timer);
      reject(reason);
    });
  });

/** Response headers as one string per name (repeated headers joined), as the AI SDK's errors carry them. */
function headersOf(response: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(response.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return headers;
}

/**
 * Sends the POST and resolves with the response once its headers are in. A connection failure that cannot
 * heal (DNS, refused, TLS) becomes an APICallError with `isRetryable: false`, so that the retry loop, which
 * still handles 429, 5xx and resets, gives up at once; its cause is a plain object, not an Error, so that
 * nothing looking for network codes along the chain of Errors marks it retryable again. Other failures to
 * connect or send (a reset, a dropped connection) become retryable APICallErrors.
 */
function send(
  ai: AiSdk,
  target: URL,
  headers: Record<string, string>,
  payload: string,
  call: CallControl,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const secure = target.protocol === 'https:';
    const request = (secure ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      agent: secure ? agents.https : agents.http,
      headers: { ...headers, 'content-length': String(Buffer.byteLength(payload)) },
    });
    const stop = call.onEnd((reason) => request.destroy(reason));
    request.once('response', (response) => {
      stop();
      resolve(response);
    });
    request.once('error', (error) => {
      stop();
      if (call.reason) {
        reject(call.reason);
        return;
      }
      const code = unhealableConnectionCode(error);
      reject(
        new ai.APICallError({
          message: `Cannot connect to API: ${error.message}`,
          url: target.href,
          requestBodyValues: {},
          isRetryable: code === undefined,
          cause: code === undefined ? error : { code, message: error.message },
        }),
      );
    });
    request.end(payload);
  });
}

/**
 * Reads a reply's body whole, as text. `limit` refuses it past that many bytes, by its Content-Length or as it
 * arrives, with `tooLarge` (the size declared, or nothing when it was cut off as it arrived).
 */
function readBody(
  response: IncomingMessage,
  call: CallControl,
  limit?: { bytes: number; tooLarge: (size?: number) => Error },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(response.headers['content-length'] ?? Number.NaN);
    if (limit && declared > limit.bytes) {
      response.destroy();
      reject(limit.tooLarge(declared));
      return;
    }
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = call.onEnd((reason) => response.destroy(reason));
    response.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
      if (limit && received > limit.bytes) {
        response.destroy();
        stop();
        reject(limit.tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    response.once('end', () => {
      stop();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    response.once('error', (error) => {
      stop();
      reject(call.reason ?? error);
    });
    response.once('close', () => {
      if (response.complete) return;
      stop();
      reject(call.reason ?? new Error('The connection to the LLM closed before its reply ended'));
    });
  });
}

interface StreamedChunk {
  choices?: { delta?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/**
 * Reads a streamed reply: its server-sent events parsed as they arrive (eventsource-parser, fed the decoded
 * text of each chunk), each text delta handed on.
 */
function readStream(
  response: IncomingMessage,
  call: CallControl,
  onDelta: (text: string) => void,
): Promise<ChatResult> {
  return new Promise((resolve, reject) => {
    let text = '';
    let usage: TokenUsage = { inputTokens: 0, outputTokens: 0 };
    let failed: Error | undefined;
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
    const stop = call.onEnd((reason) => response.destroy(reason));
    const fail = (error: Error) => {
      if (failed) return;
      failed = error;
      stop();
      response.destroy();
      reject(error);
    };
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => {
      if (failed) return;
      try {
        parser.feed(chunk);
      } catch (error) {
        fail(error instanceof Error ? error : new Error(String(error)));
      }
    });
    response.once('end', () => {
      if (failed) return;
      stop();
      resolve({ text, usage });
    });
    response.once('error', (error) => fail(call.reason ?? error));
    response.once('close', () => {
      if (!response.complete) {
        fail(call.reason ?? new Error('The connection to the LLM closed before its reply ended'));
      }
    });
  });
}

/**
 * One call over the chat completions protocol itself: one POST, the JSON reply read whole (capped at
 * MAX_JSON_REPLY_BYTES) or the server-sent events parsed as they arrive. The AI SDK's streamText cost ~10 ms of
 * CPU per call against ~1.3 ms for the bare protocol (bench/llm-client.bench.ts), and a server streams every
 * answer. Failures keep the AI SDK's shape (APICallError, RetryError) so that one mapping names them, and the
 * retry rules are the same: 408, 409, 429, 5xx and dropped connections, Retry-After honoured, 2 s doubling
 * otherwise; nothing is retried once a delta has been handed on.
 */
async function completion(
  ai: AiSdk,
  settings: OpenAICompatibleSettings,
  target: URL,
  body: Record<string, unknown>,
  call: CallControl,
  onDelta: ((text: string) => void) | undefined,
): Promise<ChatResult> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: onDelta ? 'text/event-stream' : 'application/json',
  };
  if (settings.apiKey) headers.authorization = `Bearer ${settings.apiKey}`;
  const payload = JSON.stringify(
    onDelta ? { ...body, stream: true, stream_options: { include_usage: true } } : body,
  );
  const errors: unknown[] = [];
  let delivered = false;
  const deliver = onDelta
    ? (text: string) => {
        delivered = true;
        onDelta(text);
      }
    : undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      const response = await send(ai, target, headers, payload, call);
      const status = response.statusCode ?? 0;
      if (status < 200 || status > 299) {
        const responseHeaders = headersOf(response);
        throw new ai.APICallError({
          message: response.statusMessage || `HTTP ${status}`,
          url: target.href,
          requestBodyValues: {},
          statusCode: status,
          responseHeaders,
          responseBody: await readBody(response, call),
          isRetryable: RETRYABLE_STATUS(status),
        });
      }
      if (deliver) return await readStream(response, call, deliver);
      const json = /json/i.test(String(response.headers['content-type'] ?? ''));
      const raw = await readBody(
        response,
        call,
        json
          ? {
              bytes: MAX_JSON_REPLY_BYTES,
              tooLarge: (size?: number) =>
                new ai.APICallError({
                  message: `The LLM's reply is ${size === undefined ? 'over 512 KiB' : `${Math.round(size / 1024)} KiB`}; Jarvis reads at most ${MAX_JSON_REPLY_BYTES / 1024} KiB`,
                  url: target.href,
                  requestBodyValues: {},
                  statusCode: status,
                  isRetryable: false,
                  data: REPLY_TOO_LARGE,
                }),
            }
          : undefined,
      );
      return readReply(raw);
    } catch (error) {
      if (call.reason) throw call.reason;
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
      await sleep(retryDelayMs(error, attempt), call);
    }
  }
}

interface JsonReply {
  choices?: { message?: { content?: string | null } }[];
  usage?: { prompt_tokens?: number; completion_tokens?: number } | null;
  error?: { message?: string } | string;
}

/** The text and usage of a reply that is not streamed. */
function readReply(raw: string): ChatResult {
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
function toLlmError(ai: AiSdk, error: unknown, settings: OpenAICompatibleSettings, call: CallControl): Error {
  const endpoint = describeEndpoint(settings.baseURL);
  const secrets = [settings.apiKey];
  if (call.cancelledByCaller) return new CancelledError('The LLM call');
  if (call.reason) return new TimeoutError(`LLM call to ${endpoint}`, settings.timeoutMs, { endpoint });
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
 * llama.cpp server, LM Studio, the Hugging Face router), speaking the protocol directly over node:http (see
 * `completion`): 429, 5xx and connection resets are retried with exponential backoff honouring
 * `Retry-After`; a connection that cannot heal (DNS, refused, TLS) fails at once.
 */
export function createOpenAICompatibleController(settings: OpenAICompatibleSettings): ControllerModel {
  let target: URL | undefined;
  /** The chat completions URL, checked on the first call (a wrong base URL fails that call, by its name). */
  const endpointUrl = (): URL => {
    if (target) return target;
    const url = new URL(`${settings.baseURL.replace(/\/+$/, '')}/chat/completions`);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new Error(`JARVIS_LLM_BASE_URL must be an http:// or https:// address, not ${url.protocol}`);
    }
    target = url;
    return url;
  };
  async function chat(request: ChatRequest): Promise<ChatResult> {
    const ai = await loadAiSdk();
    const call = new CallControl(settings.timeoutMs, request.signal);
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
      return await completion(ai, settings, endpointUrl(), body, call, request.onDelta);
    } catch (error) {
      throw toLlmError(ai, error, settings, call);
    } finally {
      call.dispose();
    }
  }

  return {
    id: `openai-compatible:${settings.model}`,
    contextTokens: settings.contextTokens,
    chat,
  };
}
