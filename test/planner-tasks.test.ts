// The planner is offered only the tasks some model can run now: each listed task costs tokens on every request,
// and a plan naming a task nothing can run fails anyway.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema } from '../src/config/schema.js';
import { createJarvis } from '../src/run/index.js';
import { testController } from './support/controller.js';
import {
  type OpenAITestServer,
  promptText,
  startOpenAITestServer,
  systemPrompt,
} from './support/openai-server.js';

let llm: OpenAITestServer;
before(async () => {
  llm = await startOpenAITestServer();
  llm.rule((request) => (/task planning/i.test(systemPrompt(request)) ? '[]' : 'ok'));
});
after(() => llm.close());

async function planningPrompt(inference: Record<string, unknown>): Promise<string> {
  const config = configSchema.parse({
    dataDir: mkdtempSync(join(tmpdir(), 'jarvis-planner-tasks-')),
    inference: { cacheDir: mkdtempSync(join(tmpdir(), 'jarvis-planner-cache-')), ...inference },
  });
  const jarvis = await createJarvis(config, { controller: testController(llm), sources: [] });
  try {
    await jarvis.plan('Make a video of a cat and count the zebras in a.jpg');
  } finally {
    await jarvis.close();
  }
  const planning = llm.requests.filter((request) => /task planning/i.test(systemPrompt(request))).at(-1);
  assert.ok(planning, 'no planning call');
  return promptText(planning);
}

test('offline without a token, the planner is offered the local tasks only', async () => {
  const prompt = await planningPrompt({ offline: true });
  assert.match(prompt, /object-detection/);
  assert.match(prompt, /automatic-speech-recognition/);
  assert.doesNotMatch(prompt, /text-to-video/, 'only Hugging Face can make videos, and it cannot be reached');
});

test('with a Hugging Face token, the tasks only Inference Providers run are offered too', async () => {
  const prompt = await planningPrompt({ offline: true, hfToken: 'hf_test_token_0000000000' });
  assert.match(prompt, /text-to-video/);
  assert.match(prompt, /object-detection/);
});
