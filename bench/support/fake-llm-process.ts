/**
 * The loopback OpenAI-compatible LLM of `bench/server-load.bench.ts`, in a process of its own so that its CPU
 * is not the server's or the client's. Every call is answered after a fixed latency (`--latency`, default
 * 100 ms): planning gets a one-task plan (named-entity recognition on a sentence naming the turn's person),
 * model selection the top candidate, anything else a short answer (streamed when asked).
 *
 * Prints `{"baseURL": "..."}` once it listens; each line `calls` on stdin is answered with `{"calls": N}` on
 * stdout, the number of chat completions served so far.
 *
 *   node --import tsx bench/support/fake-llm-process.ts --latency 100
 */
import { createInterface } from 'node:readline';
import {
  type ChatCompletionRequest,
  lastUserMessage,
  pickCandidateRule,
  startOpenAITestServer,
  systemPrompt,
} from '../../test/support/openai-server.js';

const index = process.argv.indexOf('--latency');
const latencyMs = index >= 0 ? Number(process.argv[index + 1]) : 100;
if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new Error('--latency takes a number of milliseconds');

let calls = 0;
const pickCandidate = pickCandidateRule();
const llm = await startOpenAITestServer();
llm.rule((request: ChatCompletionRequest) => {
  calls += 1;
  // The server keeps every request for tests; a load run would only grow it.
  llm.requests.length = 0;
  llm.headers.length = 0;
  const name = /Person ([\w-]+)/.exec(lastUserMessage(request))?.[1] ?? '0';
  if (/task planning/i.test(systemPrompt(request))) {
    return {
      delayMs: latencyMs,
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
  const selection = pickCandidate(request, 0);
  if (selection !== undefined) {
    return { delayMs: latencyMs, ...(typeof selection === 'string' ? { content: selection } : selection) };
  }
  return { delayMs: latencyMs, content: `Ada Lovelace and Person ${name} were found; they met in London.` };
});

process.stdout.write(`${JSON.stringify({ baseURL: llm.baseURL })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() === 'calls') process.stdout.write(`${JSON.stringify({ calls })}\n`);
});
lines.on('close', () => {
  void llm.close().then(() => process.exit(0));
});
