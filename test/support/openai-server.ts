import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback server that speaks the OpenAI chat completions protocol (JSON and SSE streaming) and plays
 * scripted replies. Tests point the real client at it; nothing of ours is mocked.
 */

export interface ChatCompletionRequest {
  model: string;
  messages: { role: string; content: string | { type: string; text?: string }[] }[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown } };
  [key: string]: unknown;
}

export type ScriptedReply =
  | string
  | {
      /** Assistant message text. */
      content?: string;
      /** Answer with this HTTP status and body instead of a completion. */
      status?: number;
      body?: string;
      headers?: Record<string, string>;
      /** Wait before answering (before the first byte). */
      delayMs?: number;
      /** Streamed replies: wait between chunks. */
      chunkDelayMs?: number;
      usage?: { prompt_tokens: number; completion_tokens: number };
    };

export type ReplyRule = (request: ChatCompletionRequest, index: number) => ScriptedReply | undefined;

export interface OpenAITestServer {
  url: string;
  /** Base URL for clients: `${url}/v1`. */
  baseURL: string;
  requests: ChatCompletionRequest[];
  /** Headers of each request, in order. */
  headers: IncomingMessage['headers'][];
  /** TCP connections clients have opened so far (a client that keeps connections alive opens few). */
  readonly connections: number;
  /** Queue replies played in order before the rules are asked. */
  enqueue(...replies: ScriptedReply[]): void;
  /** Rules asked in order when the queue is empty; the first that answers wins. */
  rule(rule: ReplyRule): void;
  close(): Promise<void>;
}

/** The text of all messages of a request, for rules that match on the prompt. */
export function promptText(request: ChatCompletionRequest): string {
  return request.messages
    .map((message) =>
      typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => part.text ?? '').join(''),
    )
    .join('\n');
}

/** The text of the last user message: what this call is about, without the history before it. */
export function lastUserMessage(request: ChatCompletionRequest): string {
  const last = request.messages.filter((message) => message.role === 'user').at(-1);
  if (!last) return '';
  return typeof last.content === 'string'
    ? last.content
    : last.content.map((part) => part.text ?? '').join('');
}

/** The system prompt of a request. */
export function systemPrompt(request: ChatCompletionRequest): string {
  const system = request.messages.find((message) => message.role === 'system');
  return system && typeof system.content === 'string' ? system.content : '';
}

const estimate = (text: string) => Math.max(1, Math.ceil(text.length / 4));

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Splits text into a few chunks the way a real server streams tokens. */
function chunksOf(text: string): string[] {
  const parts = text.match(/[\s\S]{1,12}/g);
  return parts ?? [''];
}

export async function startOpenAITestServer(options: { port?: number } = {}): Promise<OpenAITestServer> {
  const queue: ScriptedReply[] = [];
  const rules: ReplyRule[] = [];
  const requests: ChatCompletionRequest[] = [];
  const headers: IncomingMessage['headers'][] = [];
  let counter = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'GET' && url.pathname === '/v1/models') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ object: 'list', data: [{ id: 'test-model', object: 'model', owned_by: 'test' }] }),
      );
      return;
    }
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: `No route ${req.method} ${url.pathname}` } }));
      return;
    }
    const raw = await readBody(req);
    let body: ChatCompletionRequest;
    try {
      body = JSON.parse(raw) as ChatCompletionRequest;
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'invalid JSON body' } }));
      return;
    }
    const index = requests.length;
    requests.push(body);
    headers.push(req.headers);

    let reply: ScriptedReply | undefined = queue.shift();
    if (reply === undefined) {
      for (const rule of rules) {
        reply = rule(body, index);
        if (reply !== undefined) break;
      }
    }
    if (reply === undefined) {
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'openai-test-server: no scripted reply left' } }));
      return;
    }
    const spec = typeof reply === 'string' ? { content: reply } : reply;
    if (spec.delayMs) await sleep(spec.delayMs);
    if (res.destroyed) return;

    if (spec.status !== undefined) {
      res.writeHead(spec.status, { 'content-type': 'application/json', ...spec.headers });
      res.end(
        spec.body ?? JSON.stringify({ error: { message: `scripted status ${spec.status}`, type: 'test' } }),
      );
      return;
    }

    const content = spec.content ?? '';
    const usage = spec.usage ?? {
      prompt_tokens: estimate(promptText(body)),
      completion_tokens: estimate(content),
    };
    const id = `chatcmpl-test-${++counter}`;
    const created = Math.floor(Date.now() / 1000);
    if (!body.stream) {
      res.writeHead(200, { 'content-type': 'application/json', ...spec.headers });
      res.end(
        JSON.stringify({
          id,
          object: 'chat.completion',
          created,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
        }),
      );
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...spec.headers });
    const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);
    const chunk = (delta: Record<string, unknown>, finish: string | null) => ({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    send(chunk({ role: 'assistant', content: '' }, null));
    for (const piece of chunksOf(content)) {
      if (res.destroyed) return;
      if (spec.chunkDelayMs) await sleep(spec.chunkDelayMs);
      send(chunk({ content: piece }, null));
    }
    send(chunk({}, 'stop'));
    if (body.stream_options?.include_usage) {
      send({
        id,
        object: 'chat.completion.chunk',
        created,
        model: body.model,
        choices: [],
        usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens },
      });
    }
    res.write('data: [DONE]\n\n');
    res.end();
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(error));
    });
  });
  let connections = 0;
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    baseURL: `${url}/v1`,
    requests,
    headers,
    get connections() {
      return connections;
    },
    enqueue: (...replies) => queue.push(...replies),
    rule: (rule) => rules.push(rule),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Answers stage 2's model-selection calls the way a model would: for every task, the candidate at `index`
 * (the top-ranked one by default) with a short reason. Other calls are left to the next rules.
 */
export function pickCandidateRule(index = 0): ReplyRule {
  return (request) => {
    if (!/model selection/i.test(systemPrompt(request))) return undefined;
    // The prompt lists the tasks ("0 object-detection {...}"), then each task type's candidates once
    // ("Candidates for object-detection:" or "Candidates for object-detection, tasks 0, 2:", "- key ...").
    const tasks: { id: number; type: string }[] = [];
    const lists: { type: string; ids?: number[]; models: string[] }[] = [];
    for (const line of lastUserMessage(request).split('\n')) {
      const task = /^(\d+) (\S+) /.exec(line);
      const heading = /^Candidates for ([^,:]+)(?:, tasks ([\d, ]+))?:$/.exec(line);
      const candidate = /^- (\S+)/.exec(line);
      if (heading) {
        const ids = heading[2]?.split(',').map((id) => Number(id.trim()));
        lists.push({ type: heading[1]!, ...(ids ? { ids } : {}), models: [] });
      } else if (candidate && lists.length > 0) {
        lists.at(-1)!.models.push(candidate[1]!.replace(/:$/, ''));
      } else if (task && lists.length === 0) {
        tasks.push({ id: Number(task[1]), type: task[2]! });
      }
    }
    return JSON.stringify({
      choices: tasks.flatMap((task) => {
        const list = lists.find((one) => one.type === task.type && (!one.ids || one.ids.includes(task.id)));
        if (!list) return [];
        return [
          { task_id: task.id, model: list.models[index] ?? list.models[0], reason: 'It fits the task best.' },
        ];
      }),
    });
  };
}
