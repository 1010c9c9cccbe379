import { randomUUID } from 'node:crypto';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { CancelledError, JarvisError } from '../core/errors.js';
import type { RunResult } from '../core/events.js';
import type { ServerContext } from '../server/context.js';
import { createRunWorkspace } from '../server/workspace.js';
import type { McpHost, McpRunRequest } from './host.js';
import { createJarvisMcpServer } from './server.js';

/** A session unused this long is closed (clients that vanish without DELETE would otherwise pile up). */
const IDLE_MS = 30 * 60_000;
const MAX_SESSIONS = 100;

interface Session {
  transport: WebStandardStreamableHTTPServerTransport;
  server: McpServer;
  key: string;
  lastUsed: number;
}

export interface McpSessions {
  handle(request: Request, key: string): Promise<Response>;
  close(): Promise<void>;
}

function jsonRpcError(status: number, code: number, message: string): Response {
  return new Response(JSON.stringify({ jsonrpc: '2.0', error: { code, message }, id: null }), {
    status,
    headers: { 'content-type': 'application/json' },
  });
}

/**
 * Runs for `/mcp` go through the server's run manager, like those of the other routes: counted against the
 * caller's key, saved with their events, and confined to a fresh workspace in which only the session's
 * earlier runs and the files given inline in the call can be read.
 */
function serverHost(context: ServerContext, key: string): McpHost {
  return {
    config: () => context.config,
    models: () => context.jarvis().catalog.list(),
    hasController: () => context.jarvis().controller !== undefined,
    async run(request: McpRunRequest): Promise<RunResult> {
      const workspace = await createRunWorkspace(context.config, [], request.earlierRunIds);
      try {
        const run = await context.runs.start({
          key,
          request: request.request,
          ...(request.plan ? { plan: request.plan } : {}),
          ...(request.select ? { select: request.select } : {}),
          answer: request.answer,
          cwd: workspace.cwd,
          inputFiles: request.inputFiles,
          allowedDirs: workspace.allowedDirs,
          signal: request.signal,
        });
        const following = (async () => {
          for await (const { event } of run.follow()) request.onEvent(event);
        })();
        const outcome = await run.done;
        await following.catch(() => {});
        if (outcome.result) return outcome.result;
        if (outcome.status === 'cancelled') throw new CancelledError('The run');
        throw new JarvisError(outcome.error?.code ?? 'error', outcome.error?.message ?? 'The run failed');
      } finally {
        await workspace.remove().catch(() => {});
      }
    },
  };
}

export function createMcpSessions(context: ServerContext): McpSessions {
  const sessions = new Map<string, Session>();
  // Large enough for an image or a recording given as base64 content, as uploads are.
  const maxRequestBodySize = Math.ceil(context.config.server.maxUploadBytes * 1.4) + 1024 * 1024;

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const [id, session] of sessions) {
      if (now - session.lastUsed > IDLE_MS) void closeSession(id, session);
    }
  }, 60_000);
  sweep.unref();

  async function closeSession(id: string, session: Session): Promise<void> {
    sessions.delete(id);
    await session.server.close().catch(() => {});
  }

  async function open(request: Request, key: string): Promise<Response> {
    if (sessions.size >= MAX_SESSIONS) {
      const oldest = [...sessions.entries()].sort(([, a], [, b]) => a.lastUsed - b.lastUsed)[0];
      if (oldest) await closeSession(oldest[0], oldest[1]);
    }
    const server = await createJarvisMcpServer({ host: serverHost(context, key) });
    const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      maxRequestBodySize,
      onsessioninitialized: (id) => {
        sessions.set(id, { transport, server, key, lastUsed: Date.now() });
      },
      onsessionclosed: (id) => {
        sessions.delete(id);
      },
    });
    await server.connect(transport);
    return transport.handleRequest(request);
  }

  return {
    async handle(request, key) {
      const id = request.headers.get('mcp-session-id');
      if (id) {
        const session = sessions.get(id);
        // A session belongs to the key that opened it: another key's caller cannot use or end it.
        if (!session || session.key !== key) return jsonRpcError(404, -32001, 'Session not found');
        session.lastUsed = Date.now();
        return session.transport.handleRequest(request);
      }
      if (request.method !== 'POST') {
        return jsonRpcError(400, -32000, 'Bad Request: no mcp-session-id header (initialize first)');
      }
      // The body is read here to tell an initialize request from a stray one, then handed on already parsed.
      const text = await request.text();
      if (text.length > maxRequestBodySize)
        return jsonRpcError(413, -32000, 'The request body is too large.');
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return jsonRpcError(400, -32700, 'Parse error: the body is not JSON');
      }
      if (!isInitializeRequest(body)) {
        return jsonRpcError(400, -32000, 'Bad Request: no mcp-session-id header (initialize first)');
      }
      return open(new Request(request.url, { method: 'POST', headers: request.headers, body: text }), key);
    },
    async close() {
      clearInterval(sweep);
      await Promise.all([...sessions.entries()].map(([id, session]) => closeSession(id, session)));
    },
  };
}
