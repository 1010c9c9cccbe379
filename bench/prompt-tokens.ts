/**
 * Prompt tokens per stage, counted with a real tokenizer (cl100k, gpt-tokenizer) on what the controller is
 * sent: every message in chat format plus the JSON schema of `response_format`. The requests run through
 * the whole pipeline: the loopback LLM records the calls and the local experts run for real on the
 * fixtures. Counts are deterministic.
 */
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encode, encodeChat } from 'gpt-tokenizer/model/gpt-4';
import { configSchema } from '../src/config/schema.js';
import { createJarvis } from '../src/run/index.js';
import { fixture } from '../test/support/fixtures.js';
import { startHfServer } from '../test/support/hf-server.js';
import {
  type ChatCompletionRequest,
  pickCandidateRule,
  startOpenAITestServer,
  systemPrompt,
} from '../test/support/openai-server.js';
import { formatTable } from './table.js';

/** HuggingGPT's prompts for the zebra request, as issue 12 measured them (about 4.2k tokens). */
export const HUGGINGGPT_ZEBRA_TOKENS = 4_200;

export interface StageTokens {
  plan: number;
  select: number;
  respond: number;
  total: number;
}

/** Tokens of one chat-completions request: messages in chat format, plus its JSON schema. */
export function requestTokens(request: ChatCompletionRequest): number {
  const messages = request.messages.map((message) => ({
    role: message.role as 'system' | 'user' | 'assistant',
    content:
      typeof message.content === 'string'
        ? message.content
        : message.content.map((part) => part.text ?? '').join(''),
  }));
  const schema = request.response_format?.json_schema?.schema;
  return encodeChat(messages).length + (schema ? encode(JSON.stringify(schema)).length : 0);
}

const stageOf = (request: ChatCompletionRequest): keyof Omit<StageTokens, 'total'> | undefined => {
  const system = systemPrompt(request);
  if (/task planning/i.test(system)) return 'plan';
  if (/model selection/i.test(system)) return 'select';
  if (/response generation/i.test(system)) return 'respond';
  return undefined;
};

const detections = (files: string[]) =>
  JSON.stringify(
    files.map((file, id) => ({ task: 'object-detection', id, dep: [-1], args: { image: file } })),
  );

export const TOKEN_CASES: { name: string; request: string; plan: string }[] = [
  {
    name: 'zebra (3 images)',
    request: 'Here are a.jpg, b.jpg and c.jpg: how many zebras are in them?',
    plan: detections(['a.jpg', 'b.jpg', 'c.jpg']),
  },
  {
    name: 'zebra (5 images)',
    request: 'Here are a.jpg, b.jpg, c.jpg, d.jpg and e.jpg: how many zebras are in them?',
    plan: detections(['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg']),
  },
  {
    name: 'read page.png aloud',
    request: 'Read page.png aloud',
    plan: JSON.stringify([
      { task: 'image-to-text', id: 0, dep: [-1], args: { image: 'page.png' } },
      { task: 'text-to-speech', id: 1, dep: [0], args: { text: '<GENERATED>-0' } },
    ]),
  },
];

/** Runs each case through the pipeline and counts the tokens each stage was sent. */
export async function measurePromptTokens(): Promise<Map<string, StageTokens>> {
  const work = mkdtempSync(join(tmpdir(), 'jarvis-tokens-'));
  for (const name of ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'page.png']) {
    copyFileSync(fixture('images', name), join(work, name));
  }
  const server = await startOpenAITestServer();
  const hub = await startHfServer({ models: [] });
  let plan = '[]';
  const pick = pickCandidateRule(0);
  server.rule((request, index) => {
    const stage = stageOf(request);
    if (stage === 'plan') return plan;
    if (stage === 'select') return pick(request, index);
    return 'There are 3 zebras.';
  });
  const config = configSchema.parse({
    llm: { baseURL: server.baseURL, apiKey: 'bench', model: 'gpt-4o-mini', maxRetries: 0 },
    // Online, the Hub (a loopback one, listing no models) answering: the planner lists every task a backend
    // here supports; the candidates are the local experts and the documented transformers.js models, which
    // download on first use (issue 12 measured this setup).
    inference: { hubUrl: hub.url },
    dataDir: join(work, 'data'),
  });
  const jarvis = await createJarvis(config, { onNotice: () => {} });
  const figures = new Map<string, StageTokens>();
  try {
    for (const testCase of TOKEN_CASES) {
      plan = testCase.plan;
      const before = server.requests.length;
      const result = await jarvis.run({ request: testCase.request, cwd: work });
      const failed = result.tasks.find((task) => task.status !== 'succeeded');
      if (failed)
        throw new Error(`${testCase.name}: task ${failed.id} ${failed.status}: ${failed.error?.message}`);
      const tokens: StageTokens = { plan: 0, select: 0, respond: 0, total: 0 };
      for (const request of server.requests.slice(before)) {
        const stage = stageOf(request);
        if (!stage) continue;
        tokens[stage] += requestTokens(request);
        tokens.total += requestTokens(request);
      }
      figures.set(testCase.name, tokens);
    }
  } finally {
    await jarvis.close();
    await server.close();
    await hub.close();
    rmSync(work, { recursive: true, force: true });
  }
  return figures;
}

export function formatPromptTokens(figures: Map<string, StageTokens>): string {
  const rows = [...figures].map(([name, tokens]) => [
    name,
    String(tokens.plan),
    String(tokens.select),
    String(tokens.respond),
    String(tokens.total),
    (tokens.total / HUGGINGGPT_ZEBRA_TOKENS).toFixed(2),
  ]);
  const three = figures.get('zebra (3 images)')!;
  const five = figures.get('zebra (5 images)')!;
  const perTask = (five.select + five.respond - three.select - three.respond) / 2;
  return [
    'Prompt tokens per request (cl100k via gpt-tokenizer, chat format, JSON schema included; the same on every run but for a digit or two of run ids in file paths):',
    formatTable(['request', 'plan', 'select', 'answer', 'total', 'x HuggingGPT zebra'], rows),
    `each extra object-detection task adds ${perTask.toFixed(0)} tokens to selection and answer together`,
  ].join('\n');
}
