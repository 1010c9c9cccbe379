/**
 * What MCP costs, both ways.
 *
 *   npm run build && node --import tsx bench/mcp.bench.ts [--runs 7]
 *
 * Jarvis as a server: `jarvis mcp` started by the SDK's stdio client up to its tool list (cold), and
 * object_detection on a fixture through it (warm), beside the same one-task plan run in-process: the ratio is
 * what the protocol adds (JSON-RPC over a pipe, the drawn PNG as base64). Jarvis as a client: the first call
 * to @modelcontextprotocol/server-everything (spawn, handshake, tool list) and warm echo calls.
 */

import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { createMcpBackend } from '../src/backends/mcp/index.js';
import { configSchema } from '../src/config/schema.js';
import type { TaskName } from '../src/core/tasks.js';
import { createArtifactDirectory } from '../src/execute/artifacts.js';
import { createJarvis } from '../src/run/index.js';
import { cleanEnvironment, JARVIS_BIN } from '../test/support/cli.js';
import { fixture } from '../test/support/fixtures.js';
import { median, option, spread } from './stats.js';
import { formatTable } from './table.js';

const RUNS = Math.max(5, Number(option('runs', '7')));
const EVERYTHING = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);

async function time(action: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await action();
  return performance.now() - started;
}

const home = mkdtempSync(join(tmpdir(), 'jarvis-mcp-bench-'));
const cwd = join(home);
copyFileSync(fixture('images', 'a.jpg'), join(cwd, 'cat.jpg'));
const env = cleanEnvironment(home, { JARVIS_OFFLINE: '1', JARVIS_INFERENCE_MODE: 'local' }) as Record<
  string,
  string
>;

const rows: { name: string; values: number[]; baseline?: number[] }[] = [];

/** `jarvis mcp` from the built binary, as a desktop client starts it. */
const jarvisMcp = () =>
  new StdioClientTransport({
    command: process.execPath,
    args: [JARVIS_BIN, 'mcp'],
    cwd,
    env,
    stderr: 'ignore',
  });

// Jarvis as a server, cold: process start, pipeline, handshake, tool list.
const cold: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const client = new Client({ name: 'bench', version: '1' });
  cold.push(
    await time(async () => {
      await client.connect(jarvisMcp());
      await client.listTools();
    }),
  );
  await client.close();
}
rows.push({ name: 'jarvis mcp: start to tools/list', values: cold });

// Jarvis as a server, warm: object_detection through MCP vs the same plan in-process.
const client = new Client({ name: 'bench', version: '1' });
await client.connect(jarvisMcp());
await client.callTool({ name: 'object_detection', arguments: { image: 'cat.jpg' } });
const viaMcp: number[] = [];
for (let run = 0; run < RUNS; run++) {
  viaMcp.push(
    await time(() => client.callTool({ name: 'object_detection', arguments: { image: 'cat.jpg' } })),
  );
}
await client.close();
const config = configSchema.parse({
  inference: { mode: 'local', offline: true },
  llm: { autoDownload: false },
  dataDir: join(home, 'data'),
});
const jarvis = await createJarvis(config, { sources: [], onNotice: () => {} });
const plan = [{ id: 0, task: 'object-detection' as TaskName, dep: [-1], args: { image: 'cat.jpg' } }];
const runPlan = () => jarvis.run({ request: 'bench', plan, select: 'top', answer: false, cwd });
await runPlan();
const inProcess: number[] = [];
for (let run = 0; run < RUNS; run++) inProcess.push(await time(runPlan));
await jarvis.close();
rows.push({ name: 'object_detection via MCP (warm)', values: viaMcp, baseline: inProcess });
rows.push({ name: 'same plan in-process', values: inProcess });

// Jarvis as a client of server-everything.
const first: number[] = [];
const warm: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const backend = createMcpBackend({
    servers: { everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] } },
  });
  const call = () =>
    backend.infer({
      task: 'everything.echo' as TaskName,
      modelId: 'everything/echo',
      inputs: { text: 'hello' },
      artifacts: createArtifactDirectory(join(home, 'client')).sinkForTask(0, 'echo'),
      signal: new AbortController().signal,
    });
  first.push(await time(call));
  const calls: number[] = [];
  for (let index = 0; index < 20; index++) calls.push(await time(call));
  warm.push(median(calls));
  await backend.close();
}
rows.push({ name: 'mcp backend: first echo (spawn+handshake)', values: first });
rows.push({ name: 'mcp backend: warm echo (median of 20)', values: warm, baseline: first });

console.log(`MCP, ${RUNS} runs each (ms; ratio = median / median of the row it is compared with)\n`);
console.log(
  formatTable(
    ['', 'median', 'spread', 'ratio'],
    rows.map((row) => [
      row.name,
      median(row.values).toFixed(1),
      spread(row.values),
      row.baseline ? `${(median(row.values) / median(row.baseline)).toFixed(3)}x` : '',
    ]),
  ),
);
rmSync(home, { recursive: true, force: true });
