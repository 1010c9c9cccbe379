// MCP servers as experts: the MCP backend against the official example server
// (@modelcontextprotocol/server-everything, over stdio) and against a server that crashes, hangs, fails to
// start and returns malformed content (test/mcp/servers/misbehaving-server.mjs).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createMcpBackend, type McpBackend } from '../../src/backends/mcp/index.js';
import type { InferenceRequest } from '../../src/core/backend.js';
import { CancelledError, InferenceError, InputError } from '../../src/core/errors.js';
import type { ResolvedInputs } from '../../src/core/output.js';
import type { TaskName } from '../../src/core/tasks.js';
import { createArtifactDirectory } from '../../src/execute/artifacts.js';
import { fixture } from '../support/fixtures.js';

const EVERYTHING = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);
const MISBEHAVING = fileURLToPath(new URL('./servers/misbehaving-server.mjs', import.meta.url));

describe('MCP servers as experts', () => {
  let folder: string;
  let backend: McpBackend;

  const call = (
    modelId: string,
    inputs: ResolvedInputs,
    options: { signal?: AbortSignal; onProgress?: (message: string) => void } = {},
  ) => {
    const [server, tool] = modelId.split('/') as [string, string];
    const request: InferenceRequest = {
      task: `${server}.${tool}` as TaskName,
      modelId,
      inputs,
      artifacts: createArtifactDirectory(join(folder, 'run')).sinkForTask(0, `${server}.${tool}`),
      signal: options.signal ?? new AbortController().signal,
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    };
    return backend.infer(request);
  };

  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'jarvis-mcp-client-'));
    backend = createMcpBackend({
      servers: {
        everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] },
        flaky: { command: process.execPath, args: [MISBEHAVING] },
        broken: { command: process.execPath, args: [MISBEHAVING, 'fail-start'] },
        missing: { command: join(folder, 'no-such-program') },
      },
      connectTimeoutMs: 15_000,
    });
  });

  after(async () => {
    await backend.close();
    rmSync(folder, { recursive: true, force: true });
  });

  test('each tool of each server is a model and a task; servers that cannot start say why', async () => {
    assert.deepEqual(
      backend.status().map((server) => server.state),
      ['not-started', 'not-started', 'not-started', 'not-started'],
      'nothing starts before it is needed',
    );
    const cards = await backend.listModels();
    const ids = cards.filter((card) => card.available).map((card) => `${card.backend}:${card.id}`);
    for (const expected of ['mcp:everything/echo', 'mcp:everything/get-sum', 'mcp:everything/get-tiny-image'])
      assert.ok(ids.includes(expected), `${expected} in ${ids.join(', ')}`);
    assert.equal(cards.find((card) => card.id === 'everything/echo')?.task, 'everything.echo');

    const broken = cards.find((card) => card.id === 'broken');
    assert.equal(broken?.available, false);
    assert.match(broken?.reason ?? '', /MISBEHAVING_TOKEN is not set/);
    const missing = cards.find((card) => card.id === 'missing');
    assert.equal(missing?.available, false);
    assert.match(missing?.reason ?? '', /could not start/);

    const states = Object.fromEntries(backend.status().map((server) => [server.name, server.state]));
    assert.deepEqual(states, {
      everything: 'connected',
      flaky: 'connected',
      broken: 'failed',
      missing: 'failed',
    });
  });

  test('tools become tasks the planner can use, with argument kinds from their input schemas', async () => {
    const definitions = await backend.taskDefinitions();
    const echo = definitions.find((definition) => definition.name === 'everything.echo');
    assert.deepEqual(echo?.inputs, ['text']);
    assert.deepEqual(echo?.required, ['text']);
    assert.equal(echo?.outputs[0], 'text');
    assert.ok(definitions.every((definition) => !definition.name.startsWith('broken.')));
  });

  test('echo and add: text in, text out; JSON text fills several arguments', async () => {
    const echo = await call('everything/echo', { text: 'hello from jarvis' });
    assert.match(echo.text ?? '', /hello from jarvis/);
    const sum = await call('everything/get-sum', { text: '{"a": 2, "b": 40}' });
    assert.match(sum.text ?? '', /42/);
    await assert.rejects(call('everything/get-sum', { text: 'two and forty' }), InputError);
  });

  test('an image the tool returns becomes an image artifact of the task', async () => {
    const output = await call('everything/get-tiny-image', {});
    const image = output.artifacts?.find((artifact) => artifact.kind === 'image');
    assert.ok(image, JSON.stringify(output));
    assert.equal(image.mimeType, 'image/png');
    assert.equal(readFileSync(image.path).subarray(1, 4).toString(), 'PNG');
  });

  test('a long-running tool reports its progress, and stops when the task is cancelled', async () => {
    const progress: string[] = [];
    const output = await call(
      'everything/trigger-long-running-operation',
      { text: '{"duration": 1, "steps": 3}' },
      { onProgress: (message) => progress.push(message) },
    );
    assert.match(output.text ?? '', /completed/i);
    assert.ok(progress.length >= 2, progress.join(' | '));

    const abort = new AbortController();
    const started = Date.now();
    setTimeout(() => abort.abort(), 300);
    await assert.rejects(
      call(
        'everything/trigger-long-running-operation',
        { text: '{"duration": 30, "steps": 30}' },
        { signal: abort.signal },
      ),
      CancelledError,
    );
    assert.ok(Date.now() - started < 5000);
    // The connection survives a cancelled call.
    assert.match((await call('everything/echo', { text: 'still here' })).text ?? '', /still here/);
  });

  test('a server that crashes mid-call fails that task and is started again for the next', async () => {
    const first = await call('flaky/ok', { text: 'one' });
    const pid = /pid (\d+)/.exec(first.text ?? '')?.[1];
    await assert.rejects(call('flaky/crash', {}), (error: unknown) => {
      assert.ok(error instanceof InferenceError);
      assert.match(error.message, /closed the connection during crash/);
      assert.match(error.message, /crashed on purpose/);
      return true;
    });
    const again = await call('flaky/ok', { text: 'two' });
    assert.match(again.text ?? '', /fine: two/);
    assert.notEqual(/pid (\d+)/.exec(again.text ?? '')?.[1], pid, 'a new process');
  });

  test('a server that hangs is given up on when the task times out', async () => {
    const started = Date.now();
    await assert.rejects(call('flaky/hang', {}, { signal: AbortSignal.timeout(300) }), CancelledError);
    assert.ok(Date.now() - started < 3000);
    assert.match((await call('flaky/ok', {})).text ?? '', /fine/);
  });

  test("an image argument reaches the tool's image property as base64", async () => {
    const image = fixture('images', 'a.jpg');
    const definitions = await backend.taskDefinitions();
    const sizeTask = definitions.find((definition) => definition.name === 'flaky.image-size');
    assert.deepEqual(sizeTask?.inputs, ['image']);
    assert.deepEqual(sizeTask?.required, ['image']);
    const output = await call('flaky/image-size', { image: { path: image, mimeType: 'image/jpeg' } });
    assert.equal(output.text, `bytes: ${statSync(image).size}`);
    await assert.rejects(call('flaky/image-size', {}), /needs image/);
  });

  test('malformed content and tool errors are clear task errors', async () => {
    for (const [tool, message] of [
      ['bad-base64', /malformed content.*not base64|malformed/],
      ['bad-mime', /malformed content: image content of type "text\/plain"/],
      ['not-a-list', /malformed/],
      ['tool-error', /flaky\/tool-error failed: the tool broke/],
    ] as const) {
      await assert.rejects(call(`flaky/${tool}`, {}), (error: unknown) => {
        assert.ok(error instanceof InferenceError, `${tool}: ${String(error)}`);
        assert.match(error.message, message, tool);
        return true;
      });
    }
  });
});

describe('an MCP server over Streamable HTTP', () => {
  let folder: string;
  let server: ChildProcess;
  let backend: McpBackend;

  before(async () => {
    folder = mkdtempSync(join(tmpdir(), 'jarvis-mcp-http-client-'));
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    server = spawn(process.execPath, [EVERYTHING, 'streamableHttp'], {
      env: { ...process.env, PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      let said = '';
      server.stderr?.on('data', (chunk: Buffer) => {
        said += chunk.toString();
        if (/listening on port/i.test(said)) resolve();
      });
      server.once('exit', (code) => reject(new Error(`server-everything exited (${code}): ${said}`)));
    });
    backend = createMcpBackend({
      servers: { remote: { url: `http://127.0.0.1:${port}/mcp`, headers: { 'x-test': 'yes' } } },
    });
  });

  after(async () => {
    await backend?.close();
    server?.kill();
    rmSync(folder, { recursive: true, force: true });
  });

  const call = (tool: string, text?: string) =>
    backend.infer({
      task: `remote.${tool}` as TaskName,
      modelId: `remote/${tool}`,
      inputs: text === undefined ? {} : { text },
      artifacts: createArtifactDirectory(join(folder, 'run')).sinkForTask(0, tool),
      signal: new AbortController().signal,
    });

  test('its tools are remote models, and a call answers over HTTP', async () => {
    const cards = await backend.listModels();
    const echo = cards.find((card) => card.id === 'remote/echo');
    assert.equal(echo?.available, true);
    assert.equal(echo?.local, false);
    assert.match((await call('echo', 'over http')).text ?? '', /over http/);
  });

  test('resource links it returns are read from the server: text kept as text', async () => {
    const output = await call('get-resource-links', '{"count": 2}');
    assert.match(output.text ?? '', /Here are 2 resource links/);
    // Resource 1 is a text/plain blob, resource 2 a text resource: both end up as text.
    assert.match(output.text ?? '', /Resource 1/i);
    assert.match(output.text ?? '', /Resource 2/i);
    assert.doesNotMatch(output.text ?? '', /bytes\)/);
  });
});
