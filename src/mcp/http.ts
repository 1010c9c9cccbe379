import type { Hono } from 'hono';
import type { AppEnv } from '../server/app.js';
import type { ServerContext } from '../server/context.js';

/**
 * `/mcp` on `jarvis serve`: MCP's Streamable HTTP transport. The app's middleware has already applied the API
 * key, Host and Origin rules to it as to every API path; the SDK and the sessions load on the first request.
 */
export function registerMcpRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  let sessions: Promise<import('./http-sessions.js').McpSessions> | undefined;
  app.on(['GET', 'POST', 'DELETE'], '/mcp', async (c) => {
    sessions ??= import('./http-sessions.js').then((module) => module.createMcpSessions(context));
    return (await sessions).handle(c.req.raw, c.get('key'));
  });
}
