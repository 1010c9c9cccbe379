import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
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
 *   404 with `X-Error-Code: EntryNotFound`). GGUF files are served as the Hub serves LFS files: the resolve URL
 *   answers 302 with `X-Linked-Size` and `X-Linked-Etag` (the sha256) and the bytes come from the redirect.
 * - llama.cpp's manifest route `GET /v2/<id>/manifests/<quant>`, which node-llama-cpp asks to turn
 *   `hf:owner/repo:QUANT` into a file name.
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
  /** Set on the request `spoilNextDownload` spoiled. */
  fault?: DownloadFault['kind'];
}

export interface HfTestServer {
  url: string;
  requests: RecordedRequest[];
  inferenceCalls: InferenceCall[];
  /** Answers inference calls for a model: a handler, or replies played in order (the last repeats). */
  onInference(modelId: string, handler: InferenceHandler | InferenceReply[]): void;
  /** Makes every request wait, to test timeouts. */
  setDelay(ms: number): void;
  /**
   * Spoils the next download of a file (the next GET with a `Range` header, as download managers send):
   * `drop` sends `afterBytes` bytes and then cuts the connection; `stall` sends them and then sends nothing
   * more, keeping the connection open; `corrupt` sends the whole range with one byte changed.
   */
  spoilNextDownload(fault: DownloadFault): void;
  close(): Promise<void>;
}

export interface DownloadFault {
  kind: 'drop' | 'stall' | 'corrupt';
  afterBytes?: number;
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

const sha256 = (content: Buffer): string => createHash('sha256').update(content).digest('hex');

/** Large files live in LFS on the Hub; node-llama-cpp and Jarvis read their size and sha256 from the redirect. */
const isLfsFile = (path: string): boolean => /\.gguf$/i.test(path);

async function serveFile(
  request: IncomingMessage,
  response: ServerResponse,
  content: Buffer | undefined,
  fault?: DownloadFault,
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
      'accept-ranges': 'bytes',
      etag,
    });
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    const slice = content.subarray(start, end + 1);
    if (!fault) {
      response.end(slice);
    } else if (fault.kind === 'corrupt') {
      const spoiled = Buffer.from(slice);
      const at = Math.min(fault.afterBytes ?? 0, spoiled.length - 1);
      spoiled[at] = (spoiled[at] ?? 0) ^ 0xff;
      response.end(spoiled);
    } else {
      response.write(slice.subarray(0, fault.afterBytes ?? 0));
      // The client must see the bytes arrive before the connection breaks (or before the silence).
      if (fault.kind === 'drop') setTimeout(() => response.destroy(), 50);
    }
    return;
  }
  response.writeHead(200, {
    'content-type': 'application/octet-stream',
    'content-length': String(content.length),
    'accept-ranges': 'bytes',
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
  let fault: DownloadFault | undefined;
  const takeFault = (): DownloadFault | undefined => {
    const taken = fault;
    fault = undefined;
    return taken;
  };

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
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      path: `${url.pathname}${url.search}`,
      headers: request.headers,
    };
    requests.push(recorded);
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
      const manifest = /^\/v2\/(.+)\/manifests\/([^/]+)$/.exec(path);
      if (manifest && request.method === 'GET') {
        const model = models.get(manifest[1] as string);
        const tag = (manifest[2] as string).toLowerCase();
        const names = model?.folder ? await readdir(model.folder).catch(() => [] as string[]) : [];
        const name = names.find(
          (file) =>
            file.toLowerCase().endsWith('.gguf') && (tag === 'latest' || file.toLowerCase().includes(tag)),
        );
        const content = model && name ? await fileOf(model, name) : undefined;
        if (!name || !content) {
          sendJson(response, 404, { error: 'Repository or tag not found' });
          return;
        }
        sendJson(response, 200, { ggufFile: { rfilename: name, size: content.length } });
        return;
      }
      const blob = /^\/lfs-blobs\/(.+?)\/file\/(.+)$/.exec(path);
      if (blob && (request.method === 'GET' || request.method === 'HEAD')) {
        // Taken as the request arrives, so that the recorded request says which one was spoiled.
        const spoiled = request.method === 'GET' && request.headers.range ? takeFault() : undefined;
        if (spoiled) recorded.fault = spoiled.kind;
        const model = models.get(blob[1] as string);
        await serveFile(request, response, model && (await fileOf(model, blob[2] as string)), spoiled);
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
        const file = resolve[2] as string;
        const content = await fileOf(model, file);
        if (content && isLfsFile(file)) {
          // As the Hub does for LFS files: size and sha256 on the redirect, the bytes at the storage URL.
          const hash = sha256(content);
          response.writeHead(302, {
            location: `/lfs-blobs/${model.id}/file/${file}`,
            'x-linked-size': String(content.length),
            'x-linked-etag': `"${hash}"`,
            etag: `"${hash}"`,
            'x-repo-commit': '0'.repeat(40),
          });
          response.end();
          return;
        }
        await serveFile(request, response, content);
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
    spoilNextDownload(next) {
      fault = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
