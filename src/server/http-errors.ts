import { IncomingMessage } from 'node:http';
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { z } from 'zod';
import { errorMessage, JarvisError, redact } from '../core/errors.js';
import { JsonShapeScanner } from './json-shape.js';
import { forServer } from './server-messages.js';

/**
 * Every error the API returns has OpenAI's shape, `{"error": {"message", "type", "code"}}`, so OpenAI clients
 * show the message, and everything else can branch on `code`.
 */

export class HttpError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    message: string,
    readonly type: string,
    readonly code: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export const badRequest = (message: string, code = 'invalid_request') =>
  new HttpError(400, message, 'invalid_request_error', code);

export const notFound = (what: string) =>
  new HttpError(404, `${what} not found`, 'not_found_error', 'not_found');

export function errorBody(message: string, type: string, code: string) {
  return { error: { message, type, code } };
}

const STATUS_BY_CODE: Record<string, { status: ContentfulStatusCode; type: string }> = {
  'too-many-runs': { status: 429, type: 'rate_limit_error' },
  'setting-locked': { status: 409, type: 'invalid_request_error' },
  config: { status: 503, type: 'configuration_error' },
  input: { status: 400, type: 'invalid_request_error' },
  plan: { status: 422, type: 'plan_error' },
  llm: { status: 502, type: 'upstream_error' },
  cancelled: { status: 499 as ContentfulStatusCode, type: 'cancelled' },
  timeout: { status: 504, type: 'timeout_error' },
};

export function describeError(error: unknown): {
  status: ContentfulStatusCode;
  message: string;
  type: string;
  code: string;
  headers: Record<string, string>;
} {
  if (error instanceof HttpError) {
    return {
      status: error.status,
      message: error.message,
      type: error.type,
      code: error.code,
      headers: error.headers,
    };
  }
  if (error instanceof JarvisError) {
    const known = STATUS_BY_CODE[error.code] ?? { status: 500 as ContentfulStatusCode, type: 'server_error' };
    // The server's estimate of when a slot frees up, where it made one.
    const retryAfter = Number(error.context.retryAfterSeconds) || 5;
    const headers: Record<string, string> =
      error.code === 'too-many-runs' ? { 'retry-after': String(retryAfter) } : {};
    return {
      status: known.status,
      message: forServer(redact(error.message)),
      type: known.type,
      code: error.code,
      headers,
    };
  }
  return {
    status: 500,
    message: `Internal error: ${redact(errorMessage(error))}`,
    type: 'server_error',
    code: 'internal',
    headers: {},
  };
}

export function errorResponse(c: Context, error: unknown): Response {
  const described = describeError(error);
  for (const [name, value] of Object.entries(described.headers)) c.header(name, value);
  return c.json(errorBody(described.message, described.type, described.code), described.status);
}

/** Reads a JSON body and validates it; a malformed body is a 400 that says what is wrong. */
/**
 * The body as text, decoded and shape-checked piece by piece as it arrives: reading it whole first
 * (`Request.text()`) copies and decodes a body of up to ~29 MiB in one synchronous step (~65 ms at 27 MB on the
 * 2-core machine) that every other request waits for, and a body refused by its shape is refused at its first
 * offending bytes instead of after all of them.
 */
async function readBodyText(c: Context): Promise<string> {
  const decoder = new TextDecoder();
  const shape = new JsonShapeScanner();
  const parts: string[] = [];
  const add = (part: string) => {
    const problem = shape.push(part);
    // Checked before parsing: JSON.parse runs on the event loop, and nesting or masses of tiny containers make
    // it slow out of proportion to the body's size.
    if (problem) throw badRequest(`The body is refused: ${problem}.`, 'json_too_complex');
    parts.push(part);
  };
  // Under `jarvis serve` the body is read from Node's request itself: going through the web Request's body
  // stream (a full Request, Readable.toWeb, a ReadableStream) cost more than the rest of reading it.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming instanceof IncomingMessage && !incoming.readableDidRead) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: unknown) => {
        incoming.off('data', onData);
        incoming.off('end', onEnd);
        incoming.off('error', done);
        incoming.off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onData = (chunk: Buffer) => {
        try {
          add(decoder.decode(chunk, { stream: true }));
        } catch (error) {
          done(error);
        }
      };
      const onEnd = () => done();
      const onClose = () => {
        if (!incoming.complete) done(new Error('The client closed the connection before the body ended'));
      };
      incoming.on('data', onData);
      incoming.once('end', onEnd);
      incoming.once('error', done);
      incoming.once('close', onClose);
    });
  } else if (c.req.raw.body) {
    for await (const chunk of c.req.raw.body as unknown as AsyncIterable<Uint8Array>) {
      add(decoder.decode(chunk, { stream: true }));
    }
  }
  add(decoder.decode());
  return parts.join('');
}

export async function readJson<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  const type = c.req.header('content-type') ?? '';
  // Requiring JSON also means a cross-site form post cannot reach these routes without a CORS preflight.
  if (!/^application\/json\b/i.test(type)) {
    throw new HttpError(
      415,
      'Send the body as JSON (content-type: application/json).',
      'invalid_request_error',
      'unsupported_media_type',
    );
  }
  const text = await readBodyText(c);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw badRequest('The body is not valid JSON.', 'invalid_json');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const problems = parsed.error.issues.map(
      (issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`,
    );
    throw badRequest(`Invalid request: ${problems.join('; ')}`, 'invalid_body');
  }
  return parsed.data;
}
