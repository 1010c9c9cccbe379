// `/mcp` on `jarvis serve`: the official SDK client over Streamable HTTP, against the real server with the
// real local experts, and a loopback OpenAI-compatible LLM as the controller for the `jarvis` tool.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { configSchema } from '../../src/config/schema.js';
import { createJarvis } from '../../src/run/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';
import { answerWhen, planWhen } from '../server/support.js';
import { fixture } from '../support/fixtures.js';
import { type OpenAITestServer, startOpenAITestServer } from '../support/openai-server.js';

const KEY = 'mcp-test-key-0123456789';

interface Content {
  type: string;
  text?: string;
  data?: string;
  uri?: string;
}

describe('/mcp on jarvis serve (Streamable HTTP)', () => {
  let dataDir: string;
  let llm: OpenAITestServer;
  let server: RunningServer;
  let client: Client;

  const connect = async (headers: Record<string, string>) => {
    const connected = new Client({ name: 'jarvis-test', version: '1.0.0' });
    await connected.connect(
      new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), { requestInit: { headers } }),
    );
    return connected;
  };

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jarvis-mcp-http-'));
    llm = await startOpenAITestServer();
    const config = configSchema.parse({
      llm: { baseURL: llm.baseURL, apiKey: 'sk-test', model: 'test-model', maxRetries: 0 },
      select: { strategy: 'top' },
      inference: { mode: 'local', offline: true },
      dataDir,
      server: { port: 0, apiKey: KEY },
    });
    const jarvis = await createJarvis(config, { sources: [], onNotice: () => {} });
    server = await startServer({ config, jarvis });
    client = await connect({ authorization: `Bearer ${KEY}` });
  });

  after(async () => {
    await client?.close();
    await server?.close();
    await llm?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('refuses a client without the API key, as every API route does', async () => {
    const response = await fetch(`${server.url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      }),
    });
    assert.equal(response.status, 401);
    await assert.rejects(connect({ authorization: 'Bearer wrong-key-wrong-key' }), /401|Invalid API key/);
  });

  test('lists the task tools and the jarvis tool', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    assert.ok(names.includes('object_detection'), names.join(', '));
    assert.ok(names.includes('jarvis'));
  });

  test('object_detection on base64 content answers with text, the drawn image and a resource link', async () => {
    const result = (await client.callTool({
      name: 'object_detection',
      arguments: { image_base64: readFileSync(fixture('images', 'a.jpg')).toString('base64') },
    })) as CallToolResult;
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    const content = result.content as Content[];
    assert.match(content[0]?.text ?? '', /cat/);
    assert.ok(content.some((part) => part.type === 'image'));
    const link = content.find((part) => part.type === 'resource_link')!;
    const read = await client.readResource({ uri: link.uri! });
    assert.equal((read.contents[0] as { mimeType: string }).mimeType, 'image/jpeg');
  });

  test("the server's files are not readable through a path argument", async () => {
    for (const image of ['/etc/passwd', join(dataDir, 'jarvis.db'), '../../jarvis.db']) {
      const result = (await client.callTool({
        name: 'object_detection',
        arguments: { image },
      })) as CallToolResult;
      assert.equal(result.isError, true, image);
      assert.match((result.content as Content[])[0]?.text ?? '', /refused|not found/, image);
    }
  });

  test('the jarvis tool plans, runs and answers, reporting progress per stage and task', async () => {
    planWhen(llm, 'What animal is in this picture?', (request) => {
      const path = /- image: (\S+)/.exec(request)?.[1];
      return [{ id: 0, task: 'object-detection', dep: [-1], args: { image: path } }];
    });
    answerWhen(llm, 'What animal is in this picture?', 'There is a cat in the picture.');
    const progress: string[] = [];
    const result = (await client.callTool(
      {
        name: 'jarvis',
        arguments: {
          request: 'What animal is in this picture?',
          attachments: [{ kind: 'image', data: readFileSync(fixture('images', 'a.jpg')).toString('base64') }],
        },
      },
      undefined,
      { onprogress: (notification) => progress.push(notification.message ?? '') },
    )) as CallToolResult;
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    assert.equal((result.content as Content[])[0]?.text, 'There is a cat in the picture.');
    const structured = result.structuredContent as { tasks: { status: string; task: string }[] };
    assert.equal(structured.tasks[0]?.status, 'succeeded');
    for (const expected of [
      /^run \S+ started$/,
      /^planning$/,
      /planned 1 task/,
      /task 0 \(object-detection\) succeeded/,
      /^answering$/,
    ]) {
      assert.ok(
        progress.some((message) => expected.test(message)),
        `${expected} in ${progress.join(' | ')}`,
      );
    }
  });

  test('cancelling the jarvis tool call cancels the run', async () => {
    planWhen(llm, 'Take your time', () => ({ content: '[]', delayMs: 3_000 }));
    const abort = new AbortController();
    let runId: string | undefined;
    const call = client.callTool({ name: 'jarvis', arguments: { request: 'Take your time' } }, undefined, {
      signal: abort.signal,
      onprogress: (notification) => {
        runId ??= /^run (\S+) started$/.exec(notification.message ?? '')?.[1];
        if (runId) abort.abort();
      },
    });
    await assert.rejects(call, /abort/i);
    assert.ok(runId);
    let status: string | undefined;
    for (let attempt = 0; attempt < 100 && status !== 'cancelled'; attempt++) {
      status = (await server.store.getRun(runId))?.status;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 'cancelled');
  });
});
