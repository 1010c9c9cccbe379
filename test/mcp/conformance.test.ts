// The official MCP conformance suite (@modelcontextprotocol/conformance) against `/mcp` on a real server.
// Only the server scenarios that apply to Jarvis run here; the others call the reference test server's own
// fixtures (a `test_image_content` tool, `test://static-text`, prompts, completions, subscriptions,
// sampling, elicitation), which Jarvis does not offer. The README lists both.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { configSchema } from '../../src/config/schema.js';
import { createJarvis } from '../../src/run/index.js';
import { type RunningServer, startServer } from '../../src/server/index.js';

const run = promisify(execFile);
const CONFORMANCE = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/conformance/package.json')),
  'dist/index.js',
);
/** The CLI imports `globSync` from `fs`, which Node 20 lacks; this hook supplies it (see the file). */
const NODE20_HOOK = fileURLToPath(new URL('./conformance/register.mjs', import.meta.url));

export const APPLICABLE_SCENARIOS = [
  'server-initialize',
  'ping',
  'logging-set-level',
  'tools-list',
  'tools-call-error',
  'resources-list',
  'server-sse-multiple-streams',
  'dns-rebinding-protection',
];

describe('MCP conformance suite, server scenarios that apply', () => {
  let dataDir: string;
  let server: RunningServer;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jarvis-mcp-conformance-'));
    const config = configSchema.parse({
      inference: { mode: 'local', offline: true },
      llm: { autoDownload: false },
      dataDir,
      server: { port: 0 },
    });
    const jarvis = await createJarvis(config, { sources: [], onNotice: () => {} });
    server = await startServer({ config, jarvis });
  });

  after(async () => {
    await server?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const scenario of APPLICABLE_SCENARIOS) {
    test(`${scenario} passes`, async () => {
      const output = join(dataDir, 'conformance', scenario);
      await run(
        process.execPath,
        [
          '--import',
          NODE20_HOOK,
          CONFORMANCE,
          'server',
          '--url',
          `${server.url}/mcp`,
          '--scenario',
          scenario,
          '-o',
          output,
        ],
        { maxBuffer: 16 * 1024 * 1024 },
      ).catch((error: { stdout?: string }) => error);
      const [folder] = readdirSync(output);
      const checks = JSON.parse(readFileSync(join(output, folder!, 'checks.json'), 'utf8')) as {
        id: string;
        status: string;
        errorMessage?: string;
      }[];
      const failed = checks.filter((check) => check.status === 'FAILURE');
      assert.deepEqual(failed, [], JSON.stringify(failed));
      assert.ok(checks.some((check) => check.status === 'SUCCESS'));
    });
  }
});
