import { existsSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve } from '@hono/node-server';
import type { Hono } from 'hono';
import type { ConfigLayer, JarvisConfig } from '../config/schema.js';
import { ConfigError } from '../core/errors.js';
import { type QueueDispatcher, queueDispatcherFor } from '../queue/dispatcher.js';
import { createJarvis, type Jarvis, type JarvisOverrides } from '../run/index.js';
import { openStore, type Store } from '../store/index.js';
import { admissionLimits } from './admission.js';
import { type AppEnv, createApp } from './app.js';
import type { ServerContext } from './context.js';
import { createServerMetrics } from './metrics.js';
import { createRunManager } from './run-manager.js';
import { assertSafeBinding, createUrlSigner } from './security.js';
import { createSettingsController } from './settings.js';
import { type SweepResult, sweepAtStart, sweepWorkspaces } from './sweep.js';

/** How long an idle keep-alive connection stays open. */
export const KEEP_ALIVE_MS = 72_000;

export { type AppEnv, createApp } from './app.js';
export { isLoopbackHost } from './security.js';
export type { SweepResult } from './sweep.js';

export interface ServerOptions {
  config: JarvisConfig;
  /** The pipeline to use; built from `config` when absent. */
  jarvis?: Jarvis;
  /**
   * Builds a pipeline when settings change (default: `createJarvis`); `overrides` carries what the server adds
   * (with a queue: the wrapper that sends tasks to workers) and must be passed on.
   */
  createJarvis?: (config: JarvisConfig, overrides: JarvisOverrides) => Promise<Jarvis>;
  /** Overrides `config.server.port` / `config.server.host`. */
  port?: number;
  host?: string;
  /** The built web UI (default: `web/dist` of this package, when it exists). */
  webRoot?: string;
  /**
   * The settings the environment and command-line flags gave (already merged into `config`). The fields it
   * sets win over the settings saved from the web UI, and Settings cannot change them; without it, saved
   * settings apply over `config` as a whole.
   */
  explicit?: ConfigLayer;
}

export interface JarvisServerApp {
  app: Hono<AppEnv>;
  context: ServerContext;
  /** What the previous process left behind and this start removed. */
  swept: SweepResult;
  /** Cancels running runs, waits until they are saved, closes pipelines built here and the database. */
  close(): Promise<void>;
}

export interface RunningServer {
  /** `http://host:port`, with the port actually bound. */
  url: string;
  app: Hono<AppEnv>;
  store: Store;
  /** What the previous process left behind and this start removed. */
  swept: SweepResult;
  close(): Promise<void>;
}

/** `web/dist` beside `src/` or `dist/`: this file is `src/server/index.ts` or `dist/server/index.js`. */
export function defaultWebRoot(): string | undefined {
  const root = fileURLToPath(new URL('../../web/dist/', import.meta.url));
  return existsSync(join(root, 'index.html')) ? root : undefined;
}

export function databasePath(config: JarvisConfig): string {
  return config.server.database ?? join(config.dataDir, 'jarvis.db');
}

/** The app and everything behind it, without a socket: for tests (`app.request()`) and for `startServer`. */
export async function createServerApp(options: ServerOptions): Promise<JarvisServerApp> {
  const { config } = options;
  const store = await openStore(databasePath(config));
  let queue: QueueDispatcher | undefined;
  try {
    queue = await queueDispatcherFor(config);
    const overrides: JarvisOverrides = queue ? { wrapBackend: queue.wrap } : {};
    const build = options.createJarvis ?? createJarvis;
    const buildJarvis = (next: JarvisConfig) => build(next, overrides);
    // Runs the previous process left unfinished can never finish now: say so instead of "running" forever,
    // and remove their workspaces and partial files before any new run starts.
    const swept = await sweepAtStart(config, store);
    const settings = await createSettingsController({
      config,
      store,
      ...(options.jarvis ? { jarvis: options.jarvis } : {}),
      createJarvis: buildJarvis,
      ...(options.explicit ? { explicit: options.explicit } : {}),
    });
    const runs = createRunManager({
      store,
      jarvis: () => settings.jarvis(),
      limits: admissionLimits(config.server),
    });
    const context: ServerContext = {
      config,
      store,
      runs,
      settings,
      uploadsDir: join(config.dataDir, 'uploads'),
      webRoot: options.webRoot ?? defaultWebRoot(),
      signer: createUrlSigner(config.server.apiKey),
      metrics: createServerMetrics(),
      jarvis: () => settings.jarvis(),
      ...(queue ? { queue } : {}),
    };
    return {
      app: createApp(context),
      context,
      swept,
      async close() {
        await runs.close();
        context.metrics.close();
        // Runs remove their workspaces as they end, but not before their end has been awaited; none runs now.
        await sweepWorkspaces(config).catch(() => {});
        await settings.close();
        await queue?.close();
        await store.close();
      },
    };
  } catch (error) {
    await queue?.close();
    await store.close();
    throw error;
  }
}

/** The usual reasons a server cannot listen, as one line that says what to do instead of a stack trace. */
function listenError(error: unknown, host: string, port: number): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (code === 'EADDRINUSE') {
    return new ConfigError(`Port ${port} on ${host} is in use: stop the other server or pass --port.`);
  }
  if (code === 'EADDRNOTAVAIL') {
    return new ConfigError(
      `Cannot listen on ${where}: ${host} is not an address of this machine. Pass --host with one of its addresses (127.0.0.1 for this machine only, 0.0.0.0 for all).`,
    );
  }
  if (code === 'EACCES') {
    return new ConfigError(
      `Not allowed to listen on ${where} (ports below 1024 need privileges): pass --port with a port from 1024 up.`,
    );
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new ConfigError(`Cannot listen on ${where}: the host name ${host} does not resolve. Pass --host.`);
  }
  return error;
}

/** `jarvis serve`: listens (127.0.0.1 unless told otherwise; elsewhere only with an API key). */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? options.config.server.host;
  const port = options.port ?? options.config.server.port;
  assertSafeBinding(host, options.config.server.apiKey);
  const server = await createServerApp(options);
  let http: Server;
  try {
    http = await new Promise<Server>((resolve, reject) => {
      const created = serve({ fetch: server.app.fetch, port, hostname: host }) as Server;
      created.once('listening', () => resolve(created));
      created.once('error', reject);
    });
  } catch (error) {
    await server.close();
    throw listenError(error, host, port);
  }
  // Model loading and long plans can keep a request quiet for minutes; Node's defaults would cut it.
  http.requestTimeout = 0;
  http.headersTimeout = 60_000;
  // An idle keep-alive connection stays open 72 s (Fastify's default), not Node's 5 s: a client that sends its
  // next request just as the server closes the connection gets "socket hang up" (seen once in ~10,000 turns of
  // bench:server, whose client reuses connections as OpenAI clients do). Longer than the 60 s idle timeout of
  // common proxies and load balancers, so that they, not Jarvis, close first; clients read the hint in the
  // `Keep-Alive: timeout=72` header.
  http.keepAliveTimeout = KEEP_ALIVE_MS;
  const address = http.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${shownHost}:${address.port}`,
    app: server.app,
    store: server.context.store,
    swept: server.swept,
    async close() {
      // Runs first: their final events and rows are written before connections and the database go.
      await server.context.runs.close();
      await new Promise<void>((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      });
      await server.close();
    },
  };
}
