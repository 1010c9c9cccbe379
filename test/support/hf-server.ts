import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

/**
 * A loopback server that speaks the Hugging Face protocols Jarvis uses, so tests run the real
 * `@huggingface/hub`, `@huggingface/inference` and transformers.js clients against it:
 *
 * - Hub API: `GET /api/models?pipeline_tag=&sort=&limit=&expand=` (listing),
 *   `GET /api/models/<id>` and `/api/models/<id>/revision/<rev>` (model info, `inferenceProviderMapping`),
 *   `GET /<id>/resolve/<rev>/<file>` (files, with `Range` as the Hub answers it: 206, Content-Range, ETag;
 *   404 with `X-Error-Code: EntryNotFound`).
 * - Inference Providers router: `POST /hf-inference/models/<id>`,
 *   `POST /hf-inference/models/<id>/pipeline/<task>` and the OpenAI-compatible `POST /v1/chat/completions`
 *   (model in the body), JSON or binary bodies, answered by scripted replies
 *   (503 with `estimated_time` while "loading", 429, 401 without the expected token, 404 for unknown models).
 */

export interface ProviderEntry {
  status: 'live' | 'staging';
  task: string;
  providerId?: string;
}

export interface HubModel {
  id: string;
  task: string;
  downloads?: number;
  likes?: number;
  tags?: string[];
  /** Model card served as README.md. */
  readme?: string;
  /** Inference Providers serving the model (the Hub's `inferenceProviderMapping`). */
  providers?: Record<string, ProviderEntry>;
  /** A folder whose files are served under `/<id>/resolve/main/`. */
  folder?: string;
}

export interface InferenceCall {
  modelId: string;
  /** `feature-extraction` / `sentence-similarity` when called on the `/pipeline/<task>` route. */
  pipeline?: string;
  contentType: string;
  body: Buffer;
  /** The body parsed when it was JSON. */
  json?: unknown;
  authorization?: string;
}

export interface InferenceReply {
  status?: number;
  json?: unknown;
  bytes?: Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
  delayMs?: number;
}

export type InferenceHandler = (
  call: InferenceCall,
  index: number,
) => InferenceReply | Promise<InferenceReply>;

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
}

export interface HfTestServer {
  url: string;
  requests: RecordedRequest[];
  inferenceCalls: InferenceCall[];
  /** Answers inference calls for a model: a handler, or replies played in order (the last repeats). */
  onInference(modelId: string, handler: InferenceHandler | InferenceReply[]): void;
  /** Makes every request wait, to test timeouts. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

export interface HfServerOptions {
  models: HubModel[];
  /** When set, inference calls must carry `Authorization: Bearer <token>` (else 401). */
  token?: string;
}

const readBody = (request: IncomingMessage): Promise<Buffer> =>
  new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function modelJson(model: HubModel, expand: string[]): Record<string, unknown> {
  const json: Record<string, unknown> = {
    _id: createHash('sha1').update(model.id).digest('hex').slice(0, 24),
    id: model.id,
    modelId: model.id,
    pipeline_tag: model.task,
    private: false,
    gated: false,
    downloads: model.downloads ?? 0,
    likes: model.likes ?? 0,
    lastModified: '2025-01-01T00:00:00.000Z',
  };
  if (expand.includes('tags')) json.tags = model.tags ?? [];
  if (expand.includes('inferenceProviderMapping')) {
    json.inferenceProviderMapping = Object.fromEntries(
      Object.entries(model.providers ?? {}).map(([provider, entry]) => [
        provider,
        { status: entry.status, task: entry.task, providerId: entry.providerId ?? model.id },
      ]),
    );
  }
  return json;
}

async function serveFile(
  request: IncomingMessage,
  response: ServerResponse,
  content: Buffer | undefined,
): Promise<void> {
  if (!content) {
    response.writeHead(404, { 'x-error-code': 'EntryNotFound', 'content-type': 'text/plain' });
    response.end('Entry not found');
    return;
  }
  const etag = `"${createHash('sha1').update(content).digest('hex')}"`;
  const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
  if (range) {
    const start = Number(range[1]);
    const end = range[2] ? Math.min(Number(range[2]), content.length - 1) : content.length - 1;
    response.writeHead(206, {
      'content-type': 'application/octet-stream',
      'content-range': `bytes ${start}-${end}/${content.length}`,
      'content-length': String(end - start + 1),
      etag,
    });
    response.end(request.method === 'HEAD' ? undefined : content.subarray(start, end + 1));
    return;
  }
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(content.length),
    etag,
  });
  response.end(request.method === 'HEAD' ? undefined : content);
}

export async function startHfServer(options: HfServerOptions): Promise<HfTestServer> {
  const models = new Map(options.models.map((model) => [model.id, model]));
  const handlers = new Map<string, InferenceHandler>();
  const counts = new Map<string, number>();
  const requests: RecordedRequest[] = [];
  const inferenceCalls: InferenceCall[] = [];
  let delayMs = 0;

  async function fileOf(model: HubModel, path: string): Promise<Buffer | undefined> {
    if (path === 'README.md' && model.readme !== undefined) return Buffer.from(model.readme);
    if (!model.folder) return undefined;
    const full = normalize(join(model.folder, path));
    if (!full.startsWith(normalize(model.folder))) return undefined;
    try {
      if (!(await stat(full)).isFile()) return undefined;
      return await readFile(full);
    } catch {
      return undefined;
    }
  }

  async function handleInference(
    request: IncomingMessage,
    response: ServerResponse,
    routeModel: string | undefined,
    pipeline: string | undefined,
  ): Promise<void> {
    const body = await readBody(request);
    const contentType = request.headers['content-type'] ?? '';
    let json: unknown;
    if (contentType.includes('json')) {
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch {
        json = undefined;
      }
    }
    // The router's OpenAI-compatible route names the model in the body.
    const modelId = routeModel ?? String((json as { model?: unknown } | undefined)?.model ?? '');
    const call: InferenceCall = {
      modelId,
      ...(pipeline ? { pipeline } : {}),
      contentType,
      body,
      ...(json === undefined ? {} : { json }),
      ...(request.headers.authorization ? { authorization: request.headers.authorization } : {}),
    };
    inferenceCalls.push(call);
    if (options.token && request.headers.authorization !== `Bearer ${options.token}`) {
      sendJson(response, 401, { error: 'Invalid credentials in Authorization header' });
      return;
    }
    const handler = handlers.get(modelId);
    if (!models.has(modelId) || !handler) {
      sendJson(response, 404, { error: `Model ${modelId} does not exist` });
      return;
    }
    const index = counts.get(modelId) ?? 0;
    counts.set(modelId, index + 1);
    const reply = await handler(call, index);
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    const status = reply.status ?? 200;
    if (reply.bytes) {
      response.writeHead(status, {
        'content-type': reply.contentType ?? 'application/octet-stream',
        ...reply.headers,
      });
      response.end(Buffer.from(reply.bytes));
      return;
    }
    sendJson(response, status, reply.json ?? null, reply.headers);
  }

  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    requests.push({
      method: request.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      headers: request.headers,
    });
    const route = async (): Promise<void> => {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      const path = decodeURIComponent(url.pathname);
      const inference = /^\/hf-inference\/models\/(.+?)(?:\/pipeline\/([a-z-]+))?$/.exec(path);
      if (inference && request.method === 'POST') {
        await handleInference(request, response, inference[1] as string, inference[2]);
        return;
      }
      if (path === '/v1/chat/completions' && request.method === 'POST') {
        await handleInference(request, response, undefined, undefined);
        return;
      }
      if (path === '/api/models' && request.method === 'GET') {
        const task = url.searchParams.get('pipeline_tag');
        const limit = Number(url.searchParams.get('limit') ?? '500');
        const expand = url.searchParams.getAll('expand');
        const listed = [...models.values()]
          .filter((model) => task === null || model.task === task)
          .sort((a, b) => (b.downloads ?? 0) - (a.downloads ?? 0))
          .slice(0, limit)
          .map((model) => modelJson(model, expand));
        sendJson(response, 200, listed);
        return;
      }
      const info = /^\/api\/models\/(.+?)(?:\/revision\/[^/]+)?$/.exec(path);
      if (info && request.method === 'GET') {
        const model = models.get(info[1] as string);
        if (!model) {
          sendJson(response, 404, { error: 'Repository not found' });
          return;
        }
        const expand = [...url.searchParams.getAll('expand'), ...url.searchParams.getAll('expand[]')];
        sendJson(response, 200, modelJson(model, expand));
        return;
      }
      const resolve = /^\/(.+?)\/resolve\/[^/]+\/(.+)$/.exec(path);
      if (resolve && (request.method === 'GET' || request.method === 'HEAD')) {
        const model = models.get(resolve[1] as string);
        if (!model) {
          response.writeHead(404, { 'x-error-code': 'RepoNotFound', 'content-type': 'text/plain' });
          response.end('Repository not found');
          return;
        }
        await serveFile(request, response, await fileOf(model, resolve[2] as string));
        return;
      }
      sendJson(response, 404, { error: `no route for ${request.method} ${path}` });
    };
    route().catch((error: unknown) => {
      if (!response.headersSent) sendJson(response, 500, { error: String(error) });
      else response.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    inferenceCalls,
    onInference(modelId, handler) {
      counts.set(modelId, 0);
      if (typeof handler === 'function') {
        handlers.set(modelId, handler);
      } else {
        handlers.set(
          modelId,
          (_call, index) => handler[Math.min(index, handler.length - 1)] ?? { status: 500 },
        );
      }
    },
    setDelay(ms) {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
