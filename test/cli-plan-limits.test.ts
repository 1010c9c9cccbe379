import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { RunResult } from '../src/core/events.js';
import { MAX_TASKS } from '../src/core/plan-limits.js';
import { fibonacciBomb } from './fuzz/plan-cases.js';
import { cleanEnvironment, runJarvis } from './support/cli.js';
import {
  type OpenAITestServer,
  promptText,
  startOpenAITestServer,
  systemPrompt,
} from './support/openai-server.js';

let work: string;
let llm: OpenAITestServer;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'jarvis-cli-limits-'));
  llm = await startOpenAITestServer();
});
after(() => llm.close());

/** Replies that used to end `jarvis run --json` with "unexpected error: RangeError" and a stack. */
const replies: { name: string; reply: string; problem: RegExp }[] = [
  {
    name: '35 summaries each reading the two before (unfold bomb)',
    reply: JSON.stringify(fibonacciBomb(35)),
    problem: new RegExp(
      `or more tasks after splitting lists of inputs into one task each; use at most ${MAX_TASKS}`,
    ),
  },
  {
    name: 'a chain of 10,000 tasks',
    reply: JSON.stringify(
      Array.from({ length: 10_000 }, (_, id) => ({
        id,
        task: 'summarization',
        args: { text: `<GENERATED>-${id + 1}` },
      })),
    ),
    // Over 512 KiB of JSON: the LLM client stops reading it, and planning takes that as a bad reply.
    problem: /The LLM.s reply is over 512 KiB; Jarvis reads at most 512 KiB/,
  },
  {
    name: 'a list nested 15,000 deep',
    reply: '['.repeat(15_000),
    problem: /nests brackets more than 16 deep/,
  },
];

for (const [index, { name, reply, problem }] of replies.entries()) {
  test(`jarvis run --json with a planning reply of ${name} prints the run's JSON, its plan error, and the chat answer`, async () => {
    const marker = `limits-case-${index}`;
    llm.rule((request) => {
      if (!promptText(request).includes(marker)) return undefined;
      return /task planning/i.test(systemPrompt(request)) ? reply : 'Answered as plain chat.';
    });
    const { code, stdout, stderr } = await runJarvis(['run', '--json', `please do ${marker}`], {
      cwd: work,
      env: cleanEnvironment(work, {
        JARVIS_DATA_DIR: join(work, 'data'),
        JARVIS_LLM_BASE_URL: llm.baseURL,
        JARVIS_LLM_API_KEY: 'sk-cli-test-0000',
        JARVIS_LLM_MODEL: 'test-model',
      }),
    });
    assert.doesNotMatch(stderr, /unexpected error|RangeError/);
    assert.equal(code, 3, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.deepEqual(result.plan, []);
    assert.equal(result.errors[0]?.stage, 'plan');
    assert.match(result.errors[0]?.message ?? '', problem);
    assert.equal(result.answer, 'Answered as plain chat.');
  });
}
