/**
 * What one LLM call costs the process that makes it: CPU ms per call of Jarvis's OpenAI-compatible controller
 * beside the bare protocol (one POST, the JSON or the SSE lines parsed by hand) over fetch and over `node:http`
 * with a keep-alive agent. The LLM is the fake one of
 * `bench:server` in a process of its own, answering at once, so the figures are the client's own work:
 * building the request, HTTP, reading and parsing the reply, and everything the library does around that.
 * Calls run 8 at a time; each figure is the median of 5 runs of 200 calls, with the spread (min-max), and
 * the ratio controller / bare.
 *
 *   node --import tsx bench/llm-client.bench.ts [--calls 200] [--runs 5]
 */
import { spawn } from 'node:child_process';
import { Agent, request } from 'node:http';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createOpenAICompatibleController } from '../src/llm/openai-compatible.js';
import { formatTable } from './table.js';

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  const value = index >= 0 ? Number(process.argv[index + 1]) : fallback;
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name} takes a positive whole number`);
  return value;
}
const CALLS = option('calls', 200);
const RUNS = option('runs', 5);
const AT_ONCE = 8;

const FAKE_LLM = fileURLToPath(new URL('./support/fake-llm-process.ts', import.meta.url));
const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), FAKE_LLM, '--latency', '0'], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const baseURL = await new Promise<string>((resolve) => {
  createInterface({ input: child.stdout! }).once('line', (line) => {
    resolve((JSON.parse(line) as { baseURL: string }).baseURL);
  });
});

const controller = createOpenAICompatibleController({
  baseURL,
  model: 'bench',
  apiKey: 'sk-bench-0000',
  contextTokens: 16_000,
  timeoutMs: 30_000,
  maxRetries: 0,
  structuredOutputs: true,
  temperature: 0,
});
// A planning-sized prompt: a system prompt and a request, as stage 1 sends.
const messages = [
  {
    role: 'system' as const,
    content: `#1 Task planning stage. ${'Parse the user input into tasks. '.repeat(60)}`,
  },
  { role: 'user' as const, content: 'Find the people: Person 1-0' },
];
const body = (stream: boolean) =>
  JSON.stringify({
    model: 'bench',
    messages,
    temperature: 0,
    stream,
    ...(stream ? { stream_options: { include_usage: true } } : {}),
  });
const headers = { 'content-type': 'application/json', authorization: 'Bearer sk-bench-0000' };
const agent = new Agent({ keepAlive: true });
/** One POST over node:http with a keep-alive agent; the reply's body as text. */
const post = (payload: string) =>
  new Promise<string>((resolve, reject) => {
    const sent = request(
      `${baseURL}/chat/completions`,
      { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(payload) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () => resolve(text));
        response.on('error', reject);
      },
    );
    sent.on('error', reject);
    sent.end(payload);
  });
const streamedText = (sse: string) => {
  let text = '';
  for (const line of sse.split('\n')) {
    if (!line.startsWith('data: {')) continue;
    text +=
      (JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] }).choices[0]?.delta
        ?.content ?? '';
  }
  return text;
};

const ways: Record<string, () => Promise<unknown>> = {
  'controller, JSON reply': () =>
    controller.chat({
      stage: 'plan',
      messages,
      jsonSchema: { name: 'plan', schema: { type: 'array', items: { type: 'object' } } },
    }),
  'bare fetch, JSON reply': async () => {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers,
      body: body(false),
    });
    return ((await response.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message;
  },
  'bare node:http, JSON reply': async () =>
    (JSON.parse(await post(body(false))) as { choices: { message: { content: string } }[] }).choices[0]!
      .message,
  'controller, streamed': () => controller.chat({ stage: 'respond', messages, onDelta: () => {} }),
  'bare fetch, streamed': async () => {
    const response = await fetch(`${baseURL}/chat/completions`, {
      method: 'POST',
      headers,
      body: body(true),
    });
    return streamedText(await response.text());
  },
  'bare node:http, streamed': async () => streamedText(await post(body(true))),
};

/** CPU ms per call of `call`, over CALLS calls made AT_ONCE at a time. */
async function cpuPerCall(call: () => Promise<unknown>): Promise<number> {
  const before = process.cpuUsage();
  let next = 0;
  await Promise.all(
    Array.from({ length: AT_ONCE }, async () => {
      while (next < CALLS) {
        next += 1;
        await call();
      }
    }),
  );
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000 / CALLS;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
try {
  // Warm: the AI SDK is imported on the first call, and the JIT sees every path first.
  for (const call of Object.values(ways)) for (let index = 0; index < 20; index++) await call();
  const results = new Map<string, number[]>(Object.keys(ways).map((name) => [name, []]));
  // Runs interleaved, so that a change in the machine's load falls on every way alike.
  for (let run = 0; run < RUNS; run++) {
    for (const [name, call] of Object.entries(ways)) results.get(name)!.push(await cpuPerCall(call));
  }
  const show = (values: number[]) =>
    `${median(values).toFixed(2)} (${Math.min(...values).toFixed(2)}-${Math.max(...values).toFixed(2)})`;
  console.log(
    `LLM client CPU per call: ${CALLS} calls x ${RUNS} runs, ${AT_ONCE} at a time, fake LLM answering at once`,
  );
  console.log(
    formatTable(
      ['way', 'CPU ms per call, median (min-max)'],
      [...results].map(([name, values]) => [name, show(values)]),
    ),
  );
  const ratio = (a: string, b: string) => (median(results.get(a)!) / median(results.get(b)!)).toFixed(2);
  console.log();
  console.log(
    formatTable(
      ['reply', 'controller / bare fetch', 'controller / bare node:http', 'bare fetch / bare node:http'],
      [
        [
          'JSON',
          ratio('controller, JSON reply', 'bare fetch, JSON reply'),
          ratio('controller, JSON reply', 'bare node:http, JSON reply'),
          ratio('bare fetch, JSON reply', 'bare node:http, JSON reply'),
        ],
        [
          'streamed',
          ratio('controller, streamed', 'bare fetch, streamed'),
          ratio('controller, streamed', 'bare node:http, streamed'),
          ratio('bare fetch, streamed', 'bare node:http, streamed'),
        ],
      ],
    ),
  );
} finally {
  child.stdin!.end();
}
