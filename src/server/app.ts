import { join, resolve } from 'node:path';
import { Hono, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { cors } from 'hono/cors';
import { registerMcpRoutes } from '../mcp/http.js';
import type { ServerContext } from './context.js';
import { registerConversationRoutes } from './conversation-routes.js';
import { sendFile } from './files.js';
import { errorBody, errorResponse, HttpError } from './http-errors.js';
import { registerHuggingGPTRoutes } from './hugginggpt-routes.js';
import { registerMetricsRoutes } from './metrics.js';
import { registerOpenAIRoutes } from './openai-routes.js';
import { registerRunRoutes } from './run-routes.js';
import { isLoopbackHost, keyIdentity, keysEqual, presentedKey } from './security.js';
import { registerUploadRoutes } from './upload-routes.js';
import { registerWorkerFileRoutes, registerWorkerListRoute } from './worker-routes.js';

export type AppEnv = { Variables: { key: string } };

const API_PATH = /^\/(v1\/|hugginggpt$|tasks$|results$|mcp$)/;
/** File routes a signed URL may open without a key (`<img>` and `<audio>` cannot send headers). */
const SIGNED_FILE_PATH = /^\/v1\/(runs\/[^/]+\/files\/.+|uploads\/[^/]+\/content)$/;
const JSON_LIMIT = 1024 * 1024;

const NO_UI_PAGE = `<!doctype html><meta charset="utf-8"><title>Jarvis</title>
<p>The Jarvis API is running, but the web UI has not been built. Run <code>npm run build:web</code>.</p>`;

/** The host a `Host` header names, without its port, in lower case (host names are case-insensitive). */
function hostOf(headerValue: string | undefined): string {
  if (!headerValue) return '';
  const value = headerValue.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(value);
  if (bracketed) return bracketed[1]!;
  return value.replace(/:\d+$/, '');
}

/** False when the path has a `%` escape that is not UTF-8 (`/%E0%A4%A`): routes would fail decoding it. */
function hasValidEscapes(path: string): boolean {
  try {
    decodeURIComponent(path);
    return true;
  } catch {
    return false;
  }
}

/** The HTTP app, testable in-process with `app.request()`. */
export function createApp(context: ServerContext): Hono<AppEnv> {
  const { config } = context;
  const apiKey = config.server.apiKey;
  const corsOrigins = config.server.corsOrigins;
  const app = new Hono<AppEnv>();

  app.onError((error, c) => errorResponse(c, error));
  app.notFound((c) =>
    c.json(errorBody(`No route ${c.req.method} ${c.req.path}`, 'not_found_error', 'not_found'), 404),
  );

  app.use('*', async (c, next) => {
    // Checked once here so that no route meets a path it cannot decode: that is the client's mistake (400).
    if (!hasValidEscapes(new URL(c.req.url).pathname)) {
      throw new HttpError(
        400,
        'The URL path has a malformed percent-escape.',
        'invalid_request_error',
        'malformed_url',
      );
    }
    // Without a key, the only protection of a loopback server is that only this machine reaches it; a Host
    // header naming another site means a page used DNS rebinding to get here.
    const host = hostOf(c.req.header('host'));
    if (!apiKey && host && !isLoopbackHost(host) && host !== config.server.host.toLowerCase()) {
      throw new HttpError(403, `Host "${host}" is not served here.`, 'permission_error', 'forbidden_host');
    }
    // Another site's page may not drive this server from a visitor's browser unless CORS allows that origin.
    const origin = c.req.header('origin');
    if (origin && API_PATH.test(c.req.path)) {
      let originHost = '';
      try {
        originHost = new URL(origin).host;
      } catch {}
      const sameOrigin = originHost !== '' && originHost === c.req.header('host');
      if (!sameOrigin && !corsOrigins.includes(origin) && !corsOrigins.includes('*')) {
        throw new HttpError(
          403,
          `Origin ${origin} is not allowed (server.corsOrigins).`,
          'permission_error',
          'forbidden_origin',
        );
      }
    }
    await next();
    if (!API_PATH.test(c.req.path)) {
      c.header('x-content-type-options', 'nosniff');
      c.header('referrer-policy', 'no-referrer');
      c.header('x-frame-options', 'DENY');
      // The UI is all same-origin files; blob: is for previews of files about to be uploaded.
      c.header(
        'content-security-policy',
        "default-src 'self'; img-src 'self' blob: data:; media-src 'self' blob:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
      );
    }
  });

  if (corsOrigins.length > 0) {
    app.use(
      '*',
      cors({
        origin: corsOrigins.includes('*') ? '*' : corsOrigins,
        allowHeaders: ['authorization', 'content-type', 'x-api-key', 'last-event-id'],
        allowMethods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'],
        exposeHeaders: ['x-jarvis-run-id', 'x-jarvis-conversation-id', 'location'],
        maxAge: 600,
      }),
    );
  }

  app.get('/v1/health', (c) => c.json({ ok: true, name: 'jarvis', authRequired: Boolean(apiKey) }));
  registerWorkerFileRoutes(app, context);

  app.use('*', async (c, next) => {
    if (!API_PATH.test(c.req.path)) return next();
    if (!apiKey) {
      c.set('key', keyIdentity(undefined));
      return next();
    }
    const presented = presentedKey(c.req.raw.headers);
    if (presented && keysEqual(presented, apiKey)) {
      c.set('key', keyIdentity(presented));
      return next();
    }
    const pathname = new URL(c.req.url).pathname;
    if ((c.req.method === 'GET' || c.req.method === 'HEAD') && SIGNED_FILE_PATH.test(pathname)) {
      if (context.signer.verify(pathname, c.req.query('sig'))) {
        c.set('key', 'signed-url');
        return next();
      }
    }
    throw new HttpError(
      401,
      presented ? 'Invalid API key.' : 'An API key is required: send "Authorization: Bearer <key>".',
      'authentication_error',
      'invalid_api_key',
      { 'www-authenticate': 'Bearer' },
    );
  });

  // Chat completions may carry images inline (base64), so they get the upload limit plus room for text.
  for (const inlinePath of ['/v1/chat/completions', '/mcp']) {
    app.use(inlinePath, limitBody(Math.ceil(config.server.maxUploadBytes * 1.4) + JSON_LIMIT));
  }
  const jsonLimit = limitBody(JSON_LIMIT);
  app.use('*', async (c, next) => {
    if (
      c.req.path === '/v1/uploads' ||
      c.req.path === '/v1/chat/completions' ||
      c.req.path === '/mcp' ||
      !API_PATH.test(c.req.path)
    ) {
      return next();
    }
    return jsonLimit(c, next);
  });

  registerOpenAIRoutes(app, context);
  registerRunRoutes(app, context);
  registerUploadRoutes(app, context);
  registerConversationRoutes(app, context);
  registerHuggingGPTRoutes(app, context);
  registerMetricsRoutes(app, context.metrics, () => context.runs.stats());
  registerMcpRoutes(app, context);
  registerWorkerListRoute(app, context);

  // The web UI: hashed assets are cached for good, everything else falls back to index.html (one page app).
  app.on(['GET', 'HEAD'], '*', async (c) => {
    if (API_PATH.test(c.req.path)) {
      return c.json(errorBody(`No route ${c.req.method} ${c.req.path}`, 'not_found_error', 'not_found'), 404);
    }
    if (!context.webRoot) return c.html(NO_UI_PAGE);
    const root = resolve(context.webRoot);
    const wanted = decodeURIComponent(c.req.path);
    if (wanted.startsWith('/assets/')) {
      return sendFile(c.req.raw, join(root, wanted), root, {
        forStaticSite: true,
        cacheControl: 'public, max-age=31536000, immutable',
      });
    }
    if (wanted !== '/' && /\.[a-z0-9]+$/i.test(wanted)) {
      const response = await sendFile(c.req.raw, join(root, wanted), root, {
        forStaticSite: true,
        cacheControl: 'no-cache',
      });
      if (response.status !== 404) return response;
    }
    return sendFile(c.req.raw, join(root, 'index.html'), root, {
      forStaticSite: true,
      cacheControl: 'no-cache',
    });
  });

  return app;
}

/**
 * Refuses a body over `maxSize` bytes with 413. A body that declares its length is judged by that alone (Node's
 * parser stops a body at its Content-Length), without touching the web Request's body: asking for it makes
 * the Node adapter build a full Request and a web stream over the socket, which cost more than the rest of
 * reading a chat request. A chunked body is counted as it arrives (hono's bodyLimit).
 */
function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  const counted = bodyLimit({ maxSize, onError: tooLarge });
  return async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const declared = c.req.header('content-length');
    if (declared !== undefined && c.req.header('transfer-encoding') === undefined && /^\d+$/.test(declared)) {
      if (Number(declared) > maxSize) tooLarge();
      return next();
    }
    return counted(c, next);
  };
}

function tooLarge(): never {
  throw new HttpError(413, 'The request body is too large.', 'invalid_request_error', 'body_too_large');
}
