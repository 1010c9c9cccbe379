// A plan that mixes a built-in expert and an MCP tool, end to end: the loopback LLM plans with the tools of
// @modelcontextprotocol/server-everything in its task list, the local object detector runs, its text goes to
// the server's echo tool, and the answer names both.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { createJarvis, type Jarvis } from '../../src/run/index.js';
import { answerWhen, isPlanning, planWhen } from '../server/support.js';
import { fixture } from '../support/fixtures.js';
import { type OpenAITestServer, startOpenAITestServer, systemPrompt } from '../support/openai-server.js';

const EVERYTHING = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

describe('a plan mixing a built-in expert and an MCP tool', () => {
  let home: string;
  let llm: OpenAITestServer;
  let jarvis: Jarvis;

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'jarvis-mcp-mixed-'));
    mkdirSync(join(home, 'work'));
    copyFileSync(fixture('images', 'a.jpg'), join(home, 'work', 'cat.jpg'));
    llm = await startOpenAITestServer();
    const config = configSchema.parse({
      llm: { baseURL: llm.baseURL, apiKey: 'sk-test', model: 'test-model', maxRetries: 0 },
      select: { strategy: 'top' },
      inference: { mode: 'local', offline: true },
      experts: { workers: 0 },
      mcp: { servers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } } },
      dataDir: join(home, 'data'),
    });
    jarvis = await createJarvis(config, { sources: [], onNotice: () => {} });
  });

  after(async () => {
    await jarvis?.close();
    await llm?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('detects objects, echoes the result through the MCP server, and answers', async () => {
    planWhen(llm, 'echo what you found', () => [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'cat.jpg' } },
      { id: 1, task: 'everything.echo', dep: [0], args: { text: '<GENERATED>-0' } },
    ]);
    answerWhen(llm, 'echo what you found', 'I found a cat and the echo tool repeated it.');
    const result = await jarvis.run({
      request: 'Detect the objects in cat.jpg and echo what you found',
      cwd: join(home, 'work'),
    });
    assert.deepEqual(result.errors, []);
    const [detection, echo] = result.tasks;
    assert.equal(detection?.status, 'succeeded', JSON.stringify(detection?.error));
    assert.equal(echo?.status, 'succeeded', JSON.stringify(echo?.error));
    assert.equal(echo?.backend, 'mcp');
    assert.equal(echo?.model, 'everything/echo');
    assert.match(echo?.output?.text ?? '', /Echo: .*cat/);
    assert.equal(result.answer, 'I found a cat and the echo tool repeated it.');

    // The planner was offered the server's tools, with their descriptions.
    const planning = llm.requests.find(isPlanning);
    assert.ok(planning);
    assert.match(systemPrompt(planning), /everything\.echo/);
    assert.match(systemPrompt(planning), /object-detection/);
  });

  test('a given plan may use MCP tasks too, and one naming a tool the server lacks is refused', async () => {
    const result = await jarvis.run({
      request: 'add',
      plan: [{ id: 0, task: 'everything.get-sum' as never, dep: [-1], args: { text: '{"a": 1, "b": 2}' } }],
      answer: false,
      cwd: join(home, 'work'),
    });
    assert.match(result.tasks[0]?.output?.text ?? '', /3/);
    await assert.rejects(
      jarvis.run({
        request: 'add',
        plan: [{ id: 0, task: 'everything.no-such-tool' as never, dep: [-1], args: { text: 'x' } }],
        answer: false,
      }),
      /given plan is invalid/,
    );
  });
});
