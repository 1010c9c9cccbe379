/**
 * Load test of `jarvis serve`: many conversations at once, each sending several turns in a row through
 * `POST /v1/chat/completions` (streamed and not), over a real socket. The controller is the loopback LLM server
 * with a fixed latency per call; the one task per turn runs on the real local NER expert. It prints throughput,
 * latency percentiles, time over the LLM floor (what the server and pipeline add), and memory.
 *
 *   node --import tsx bench/server-load.bench.ts [--conversations 8,32,64] [--turns 4] [--latency 100]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createLocalBackend, LOCAL_EXPERTS } from '../src/backends/local/index.js';
import { configSchema } from '../src/config/schema.js';
import { createJarvis } from '../src/run/index.js';
import { startServer } from '../src/server/index.js';
import { startOpenAITestServer, systemPrompt } from '../test/support/openai-server.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const LEVELS = option('conversations', '8,32,64').split(',').map(Number);
const TURNS = Number(option('turns', '4'));
const LATENCY_MS = Number(option('latency', '100'));
// Each turn makes two LLM calls in sequence: planning and the (streamed) answer.
const FLOOR_MS = 2 * LATENCY_MS;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);

async function main(): Promise<void> {
  const llm = await startOpenAITestServer();
  llm.rule((request) => {
    const last = request.messages.at(-1);
    const text = typeof last?.content === 'string' ? last.content : '';
    const name = /Person (\d+)/.exec(text)?.[1] ?? '0';
    if (/task planning/i.test(systemPrompt(request))) {
      return {
        delayMs: LATENCY_MS,
        content: JSON.stringify([
          {
            id: 0,
            task: 'token-classification',
            dep: [-1],
            args: { text: `Ada Lovelace met Person ${name} in London.` },
          },
        ]),
      };
    }
    return {
      delayMs: LATENCY_MS,
      content: `Ada Lovelace and Person ${name} were found; they met in London.`,
    };
  });

  const dataDir = mkdtempSync(join(tmpdir(), 'jarvis-server-load-'));
  const config = configSchema.parse({
    llm: { baseURL: llm.baseURL, apiKey: 'sk-bench-0000', model: 'bench', maxRetries: 0 },
    select: { strategy: 'top' },
    dataDir,
    server: { port: 0, maxConcurrentRunsPerKey: 10_000 },
  });
  const nlp = LOCAL_EXPERTS.filter((expert) => expert.task === 'token-classification');
  const jarvis = await createJarvis(config, { backends: [createLocalBackend({ experts: nlp })] });
  const server = await startServer({ config, jarvis });

  async function turn(history: { role: string; content: string }[], stream: boolean): Promise<string> {
    const response = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'jarvis', stream, messages: history }),
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}: ${await response.text()}`);
    if (!stream) {
      const body = (await response.json()) as { choices: { message: { content: string } }[] };
      return body.choices[0]!.message.content;
    }
    let answer = '';
    for (const line of (await response.text()).split('\n')) {
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(6)) as { choices: { delta?: { content?: string } }[] };
      answer += chunk.choices[0]?.delta?.content ?? '';
    }
    return answer;
  }

  // A warm-up turn loads the expert and opens the database before anything is measured.
  await turn([{ role: 'user', content: 'Find the people: Person 0' }], false);

  console.log(
    `jarvis serve load: ${TURNS} turns per conversation, LLM latency ${LATENCY_MS} ms per call (floor ${FLOOR_MS} ms per turn)`,
  );
  console.log(
    'conversations  turns  errors  turns/s   p50 ms   p99 ms   max ms   p50 over floor   rss MiB   heap MiB   loop p99 ms',
  );
  for (const conversations of LEVELS) {
    const latencies: number[] = [];
    let errors = 0;
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: conversations }, async (_, index) => {
        const history: { role: string; content: string }[] = [];
        for (let round = 0; round < TURNS; round++) {
          history.push({ role: 'user', content: `Find the people: Person ${index}-${round}` });
          const begin = performance.now();
          try {
            const answer = await turn(history, round % 2 === 1);
            history.push({ role: 'assistant', content: answer });
            latencies.push(performance.now() - begin);
          } catch (error) {
            errors += 1;
            if (errors === 1) console.error(String(error));
          }
        }
      }),
    );
    const elapsed = (performance.now() - started) / 1000;
    loop.disable();
    latencies.sort((a, b) => a - b);
    const memory = process.memoryUsage();
    const p50 = percentile(latencies, 50);
    console.log(
      [
        String(conversations).padStart(13),
        String(latencies.length).padStart(6),
        String(errors).padStart(7),
        (latencies.length / elapsed).toFixed(1).padStart(8),
        p50.toFixed(0).padStart(8),
        percentile(latencies, 99).toFixed(0).padStart(8),
        (latencies.at(-1) ?? 0).toFixed(0).padStart(8),
        (p50 - FLOOR_MS).toFixed(0).padStart(16),
        mib(memory.rss).padStart(9),
        mib(memory.heapUsed).padStart(10),
        (loop.percentile(99) / 1e6).toFixed(1).padStart(13),
      ].join(' '),
    );
  }

  const conversations = (await (await fetch(`${server.url}/v1/conversations?limit=500`)).json()) as {
    conversations: unknown[];
  };
  console.log(`stored conversations: ${conversations.conversations.length}`);
  await server.close();
  await jarvis.close();
  await llm.close();
  rmSync(dataDir, { recursive: true, force: true });
}

await main();
