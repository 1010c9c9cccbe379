// `jarvis mcp` as desktop clients run it: the built binary over stdio, driven by the official SDK client and
// by the official inspector's CLI. The experts are the real local ones; nothing of ours is replaced.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { cleanEnvironment, JARVIS_BIN, runJarvis } from '../support/cli.js';
import { fixture } from '../support/fixtures.js';

const run = promisify(execFile);

/** The inspector's launcher, as `npx mcp-inspector` runs it. */
const INSPECTOR = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/inspector/package.json')),
  'clients/launcher/build/index.js',
);

interface Content {
  type: string;
  text?: string;
  data?: string;
  mimeType?: string;
  uri?: string;
}

describe('jarvis mcp (stdio)', () => {
  let home: string;
  let cwd: string;
  let env: NodeJS.ProcessEnv;
  let client: Client;
  let stderr = '';

  before(async () => {
    home = mkdtempSync(join(tmpdir(), 'jarvis-mcp-'));
    cwd = join(home, 'work');
    mkdirSync(cwd);
    copyFileSync(fixture('images', 'a.jpg'), join(cwd, 'cat.jpg'));
    env = cleanEnvironment(home, { JARVIS_OFFLINE: '1', JARVIS_INFERENCE_MODE: 'local' });
    const transport = new StdioClientTransport({
      command: process.execPath,
      // Started elsewhere, as desktop clients do; --root names the folder the tools may read.
      args: [JARVIS_BIN, 'mcp', '--root', 'work'],
      cwd: home,
      env: env as Record<string, string>,
      stderr: 'pipe',
    });
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    client = new Client({ name: 'jarvis-test', version: '1.0.0' });
    await client.connect(transport);
  });

  after(async () => {
    await client?.close();
    rmSync(home, { recursive: true, force: true });
  });

  test('offers one tool per runnable task with JSON-schema inputs, and says so on stderr only', async () => {
    const { tools } = await client.listTools();
    const names = tools.map((tool) => tool.name);
    for (const expected of [
      'object_detection',
      'image_to_text',
      'text_to_speech',
      'automatic_speech_recognition',
    ])
      assert.ok(names.includes(expected), `${expected} in ${names.join(', ')}`);
    const detection = tools.find((tool) => tool.name === 'object_detection')!;
    assert.equal(detection.inputSchema.type, 'object');
    assert.ok(detection.inputSchema.properties?.image, 'an image argument');
    assert.ok(detection.inputSchema.properties?.image_base64, 'a base64 image argument');
    assert.match(stderr, /MCP server on stdio/);
  });

  test('object_detection on a file in the working folder returns text, the boxes drawn and the data', async () => {
    const result = (await client.callTool({
      name: 'object_detection',
      arguments: { image: 'cat.jpg' },
    })) as CallToolResult;
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    const content = result.content as Content[];
    assert.match(content.find((part) => part.type === 'text')?.text ?? '', /cat/);
    const image = content.find((part) => part.type === 'image');
    assert.equal(image?.mimeType, 'image/jpeg');
    assert.deepEqual([...Buffer.from(image!.data!, 'base64').subarray(0, 3)], [0xff, 0xd8, 0xff]);
    const link = content.find((part) => part.type === 'resource_link');
    assert.match(link?.uri ?? '', /^jarvis:\/\/runs\/[^/]+\/0-object-detection\.jpg$/);
    const structured = result.structuredContent as {
      task: string;
      data: { detections: { label: string }[] };
    };
    assert.equal(structured.task, 'object-detection');
    assert.ok(structured.data.detections.some((detection) => detection.label === 'cat'));

    // The file is a resource: listed for this session and readable.
    const { resources } = await client.listResources();
    assert.ok(resources.some((resource) => resource.uri === link!.uri));
    const read = await client.readResource({ uri: link!.uri! });
    const blob = read.contents[0] as { blob: string; mimeType: string };
    assert.equal(blob.mimeType, 'image/jpeg');
    assert.equal(blob.blob, image!.data);
  });

  test('base64 content is accepted in place of a path', async () => {
    const result = (await client.callTool({
      name: 'object_detection',
      arguments: { image_base64: readFileSync(fixture('images', 'a.jpg')).toString('base64') },
    })) as CallToolResult;
    assert.notEqual(result.isError, true, JSON.stringify(result.content));
    assert.match((result.content as Content[])[0]?.text ?? '', /cat/);
  });

  test('a path outside the working folder is refused, as it is in a plan', async () => {
    const result = (await client.callTool({
      name: 'object_detection',
      arguments: { image: '/etc/passwd' },
    })) as CallToolResult;
    assert.equal(result.isError, true);
    assert.match((result.content as Content[])[0]?.text ?? '', /outside the working directory/);

    const upwards = (await client.callTool({
      name: 'object_detection',
      arguments: { image: '../../../../etc/hostname' },
    })) as CallToolResult;
    assert.equal(upwards.isError, true);
  });

  test('bad input gets a clear error: no image, both forms, content that is not an image', async () => {
    const missing = (await client.callTool({ name: 'object_detection', arguments: {} })) as CallToolResult;
    assert.equal(missing.isError, true);
    assert.match((missing.content as Content[])[0]?.text ?? '', /needs image/);

    const both = (await client.callTool({
      name: 'object_detection',
      arguments: { image: 'cat.jpg', image_base64: 'AAAA' },
    })) as CallToolResult;
    assert.match((both.content as Content[])[0]?.text ?? '', /either image or image_base64/);

    const notImage = (await client.callTool({
      name: 'object_detection',
      arguments: { image_base64: Buffer.from('hello, not a picture').toString('base64') },
    })) as CallToolResult;
    assert.equal(notImage.isError, true);
    assert.match((notImage.content as Content[])[0]?.text ?? '', /does not hold an image/);
  });

  test('a resource URI cannot name a file outside a run folder', async () => {
    await assert.rejects(
      client.readResource({ uri: 'jarvis://runs/..%2F..%2F/passwd' }),
      /Not a Jarvis run file|not found/i,
    );
  });

  test('refuses to serve every file of the machine: started in / without --root, or with a --root that is missing', async () => {
    const fromRoot = await runJarvis(['mcp'], { cwd: '/', env, input: '' });
    assert.equal(fromRoot.code, 2);
    assert.match(fromRoot.stderr, /would let its tools read every file under \/: pass --root/);
    assert.equal(fromRoot.stdout, '');
    const missing = await runJarvis(['mcp', '--root', join(home, 'nowhere')], { cwd: home, env, input: '' });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no such folder/);
  });

  test('the official inspector CLI lists the tools, calls object_detection and reads the resource', async () => {
    const inspect = async (...args: string[]) => {
      const { stdout } = await run(
        process.execPath,
        [INSPECTOR, '--cli', process.execPath, JARVIS_BIN, 'mcp', ...args],
        { cwd, env, maxBuffer: 64 * 1024 * 1024 },
      );
      return JSON.parse(stdout) as Record<string, unknown>;
    };
    const listed = (await inspect('--method', 'tools/list')) as { tools: { name: string }[] };
    assert.ok(listed.tools.some((tool) => tool.name === 'object_detection'));

    const called = (await inspect(
      '--method',
      'tools/call',
      '--tool-name',
      'object_detection',
      '--tool-arg',
      'image=cat.jpg',
    )) as { content: Content[] };
    const link = called.content.find((part) => part.type === 'resource_link');
    assert.ok(link?.uri, JSON.stringify(called.content.map((part) => part.type)));

    const read = (await inspect('--method', 'resources/read', '--uri', link.uri)) as {
      contents: { uri: string; mimeType: string; blob: string }[];
    };
    assert.equal(read.contents[0]?.mimeType, 'image/jpeg');
    assert.ok(read.contents[0]!.blob.length > 1000);
  });
});
