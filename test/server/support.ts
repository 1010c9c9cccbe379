// Shared setup for the server tests: a loopback LLM that plans and answers by rules, a data folder, and the
// real pipeline with the local NLP experts and the test backend for vision and speech tasks.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalBackend, LOCAL_EXPERTS } from '../../src/backends/local/index.js';
import { type ConfigLayer, configSchema, type JarvisConfig } from '../../src/config/schema.js';
import { createJarvis, type Jarvis } from '../../src/run/index.js';
import {
  type ChatCompletionRequest,
  type OpenAITestServer,
  type ScriptedReply,
  startOpenAITestServer,
  systemPrompt,
} from '../support/openai-server.js';
import { createTestBackend, type TestBackend } from '../support/test-backend.js';

export { FIXTURES, fixture } from '../support/fixtures.js';

export const isPlanning = (request: ChatCompletionRequest) => /task planning/i.test(systemPrompt(request));
export const isAnswering = (request: ChatCompletionRequest) =>
  /response generation/i.test(systemPrompt(request));

/** The text of the last message: the request itself, without the planner's demos and history. */
export function lastMessage(request: ChatCompletionRequest): string {
  const last = request.messages.at(-1);
  if (!last) return '';
  return typeof last.content === 'string'
    ? last.content
    : last.content.map((part) => part.text ?? '').join('');
}

/** Answers planning calls whose request contains `marker` with `plan(requestText)`. */
export function planWhen(
  llm: OpenAITestServer,
  marker: string,
  plan: (request: string) => unknown[] | ScriptedReply,
): void {
  llm.rule((request) => {
    if (!isPlanning(request)) return undefined;
    const text = lastMessage(request);
    if (!text.includes(marker)) return undefined;
    const reply = plan(text);
    return Array.isArray(reply) ? JSON.stringify(reply) : reply;
  });
}

/** Answers response-generation (and chat) calls about `marker` with `answer`. */
export function answerWhen(llm: OpenAITestServer, marker: string, answer: ScriptedReply): void {
  llm.rule((request) => {
    if (isPlanning(request)) return undefined;
    return JSON.stringify(request.messages).includes(marker) ? answer : undefined;
  });
}

/** The name of the first file attached to a request, as the planner sees it (`- image: zebra.jpg`). */
export const UPLOAD_PATH = /(?<=^- (?:image|audio|video): ).+$/m;

export interface Setup {
  dataDir: string;
  llm: OpenAITestServer;
  vision: TestBackend;
  config(layer?: ConfigLayer): JarvisConfig;
  jarvis(config: JarvisConfig): Promise<Jarvis>;
}

export async function setup(): Promise<Setup> {
  const dataDir = mkdtempSync(join(tmpdir(), 'jarvis-server-'));
  const llm = await startOpenAITestServer();
  const vision = createTestBackend({
    id: 'vision',
    latencyMs: 30,
    tasks: ['object-detection', 'image-to-text', 'text-to-speech', 'image-classification'],
  });
  const nlp = LOCAL_EXPERTS.filter(
    (expert) => expert.task === 'token-classification' || expert.task === 'text-classification',
  );
  return {
    dataDir,
    llm,
    vision,
    config(layer = {}) {
      return configSchema.parse({
        ...layer,
        llm: {
          baseURL: llm.baseURL,
          apiKey: 'sk-test-0000',
          model: 'test-model',
          maxRetries: 0,
          ...layer.llm,
        },
        select: { strategy: 'top', ...layer.select },
        dataDir: layer.dataDir ?? dataDir,
        server: { port: 0, ...layer.server },
      });
    },
    jarvis(config) {
      return createJarvis(config, { backends: [createLocalBackend({ experts: nlp }), vision] });
    },
  };
}

/** Reads a `text/event-stream` response to its end: `[{event, data, id}]`. */
export async function readEventStream(
  response: Response,
): Promise<{ event: string; data: string; id: string | undefined }[]> {
  const text = await response.text();
  const out: { event: string; data: string; id: string | undefined }[] = [];
  for (const block of text.split(/\n\n/)) {
    if (!block.trim() || block.startsWith(':')) continue;
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('id:')) id = line.slice(3).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    out.push({ event, data: data.join('\n'), id });
  }
  return out;
}

export const NER_SENTENCE = 'Ada Lovelace met Charles Babbage in London.';

/**
 * Scripts the request both server suites start from, "Find the people: …": one named-entity task over
 * NER_SENTENCE, answered "The people are Ada Lovelace and Charles Babbage." (streamed in chunks `chunkDelayMs`
 * apart where given).
 */
export function scriptFindPeople(llm: OpenAITestServer, chunkDelayMs?: number): void {
  planWhen(llm, 'Find the people', () => [
    { id: 0, task: 'token-classification', dep: [-1], args: { text: NER_SENTENCE } },
  ]);
  const answer = 'The people are Ada Lovelace and Charles Babbage.';
  answerWhen(llm, 'Find the people', chunkDelayMs === undefined ? answer : { content: answer, chunkDelayMs });
}
