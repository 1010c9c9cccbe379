/**
 * The floor that `bench:server` compares `jarvis serve` with: a bare Node.js server doing the least one turn
 * of the load test needs, on this machine, under the same load. For each `POST /v1/chat/completions` it asks
 * the LLM for a plan (one call, as Jarvis's planner, whose system prompt the fake LLM recognises), finds the
 * people in the planned text with compromise on its own event loop (Jarvis runs NER in a worker thread), asks
 * the LLM for the answer (a second call) and replies in OpenAI's format, streamed when asked. No database, no
 * validation, no run folder, no worker pool, no events: only the HTTP in and out and the expert's own work.
 * `GET /v1/metrics` and `POST /v1/metrics/reset` report the event-loop delay as Jarvis's do (the same code).
 *
 *   npm run bench:server -- --compare bench/support/bare-server.ts
 *   node --import tsx bench/support/bare-server.ts serve --host 127.0.0.1 --port 0   (as the bench starts it)
 */

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import type { AdmissionStats } from '../../src/server/admission.js';
import { createServerMetrics } from '../../src/server/metrics.js';

const nlp = createRequire(import.meta.url)('compromise') as typeof import('compromise').default;
const baseURL = process.env.JARVIS_LLM_BASE_URL ?? 'http://127.0.0.1:1/v1';
const model = process.env.JARVIS_LLM_MODEL ?? 'bench';
const portIndex = process.argv.indexOf('--port');
const port = portIndex >= 0 ? Number(process.argv[portIndex + 1]) : 0;
const metrics = createServerMetrics();

interface Message {
  role: string;
  content: string;
}

async function complete(messages: Message[]): Promise<string> {
  const response = await fetch(`${baseURL}/chat/completions`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${process.env.JARVIS_LLM_API_KEY ?? ''}`,
    },
    body: JSON.stringify({ model, messages }),
  });
  if (!response.ok) throw new Error(`LLM answered HTTP ${response.status}`);
  const body = (await response.json()) as { choices: { message: { content: string } }[] };
  return body.choices[0]?.message.content ?? '';
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function chat(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { messages, stream } = JSON.parse(await readBody(request)) as {
    messages: Message[];
    stream?: boolean;
  };
  const question = messages.at(-1)?.content ?? '';
  const plan = JSON.parse(
    await complete([
      { role: 'system', content: 'You are the task planning stage.' },
      { role: 'user', content: question },
    ]),
  ) as { args: { text: string } }[];
  const people = nlp(plan[0]?.args.text ?? '')
    .people()
    .out('array') as string[];
  const answer = await complete([
    { role: 'system', content: 'Answer the user from the results.' },
    { role: 'user', content: `${question}\nResults: ${JSON.stringify(people)}` },
  ]);
  const id = `chatcmpl-${Date.now()}`;
  const created = Math.floor(Date.now() / 1000);
  if (!stream) {
    const body = JSON.stringify({
      id,
      object: 'chat.completion',
      created,
      model: 'jarvis',
      choices: [{ index: 0, message: { role: 'assistant', content: answer }, finish_reason: 'stop' }],
    });
    response.writeHead(200, { 'content-type': 'application/json' }).end(body);
    return;
  }
  const chunk = (delta: object, finish: string | null) =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: 'jarvis', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  response.end(`${chunk({ role: 'assistant', content: answer }, null)}${chunk({}, 'stop')}data: [DONE]\n\n`);
}

const server = createServer((request, response) => {
  const json = (status: number, value: unknown) =>
    response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
  const stats = {} as AdmissionStats;
  if (request.method === 'GET' && request.url === '/v1/metrics') return json(200, metrics.snapshot(stats));
  if (request.method === 'POST' && request.url === '/v1/metrics/reset') {
    const before = metrics.snapshot(stats);
    metrics.reset();
    return json(200, before);
  }
  if (request.method === 'POST' && request.url === '/v1/chat/completions') {
    chat(request, response).catch((error: Error) => json(500, { error: { message: error.message } }));
    return;
  }
  json(404, { error: { message: 'not found' } });
});
server.keepAliveTimeout = 72_000;
server.listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as AddressInfo;
  process.stdout.write(`serving on http://127.0.0.1:${bound} (bare Node.js floor)\n`);
});
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    metrics.close();
    server.close();
    server.closeAllConnections();
  });
