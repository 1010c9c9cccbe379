// `mcp.servers` as a user meets it: a config file with a working server and one that cannot start. The
// built `jarvis` binary lists the working server's tools, shows why the other is missing, and keeps working.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanEnvironment, runJarvis } from '../support/cli.js';

const EVERYTHING = join(
  dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')),
  'dist/index.js',
);
const MISBEHAVING = fileURLToPath(new URL('./servers/misbehaving-server.mjs', import.meta.url));

describe('jarvis with mcp.servers in its config file', () => {
  let home: string;
  let cwd: string;
  let env: NodeJS.ProcessEnv;

  before(() => {
    home = mkdtempSync(join(tmpdir(), 'jarvis-mcp-cli-'));
    cwd = join(home, 'work');
    mkdirSync(cwd);
    env = cleanEnvironment(home, { JARVIS_OFFLINE: '1', JARVIS_INFERENCE_MODE: 'local' });
    writeFileSync(
      join(cwd, 'jarvis.config.json'),
      JSON.stringify({
        mcp: {
          servers: {
            everything: { command: process.execPath, args: [EVERYTHING, 'stdio'] },
            broken: { command: process.execPath, args: [MISBEHAVING, 'fail-start'] },
          },
        },
      }),
    );
  });

  after(() => rmSync(home, { recursive: true, force: true }));

  test("jarvis models lists the server's tools and says why the broken server is missing", async () => {
    const result = await runJarvis(['models', '--json'], { cwd, env });
    assert.equal(result.code, 0, result.stderr);
    const rows = JSON.parse(result.stdout) as {
      id: string;
      task: string;
      backend: string;
      available: boolean;
      reason: string | null;
    }[];
    const echo = rows.find((row) => row.backend === 'mcp' && row.id === 'everything/echo');
    assert.equal(echo?.available, true);
    assert.equal(echo?.task, 'everything.echo');
    const broken = rows.find((row) => row.backend === 'mcp' && row.id === 'broken');
    assert.equal(broken?.available, false);
    assert.match(broken?.reason ?? '', /could not start.*MISBEHAVING_TOKEN is not set/);
    // The rest of Jarvis is there as before.
    assert.ok(
      rows.some((row) => row.backend === 'local' && row.task === 'object-detection' && row.available),
    );
  });

  test('the servers are there in every inference mode: they are not Hugging Face experts', async () => {
    for (const mode of ['local', 'huggingface', 'hybrid']) {
      const result = await runJarvis(['models', '--json', '--mode', mode], { cwd, env });
      const rows = JSON.parse(result.stdout) as { id: string; backend: string; available: boolean }[];
      assert.ok(
        rows.some((row) => row.backend === 'mcp' && row.id === 'everything/echo' && row.available),
        mode,
      );
    }
  });

  test('jarvis doctor reports the MCP backend with the failed server', async () => {
    const result = await runJarvis(['doctor'], { cwd, env });
    assert.match(
      result.stdout,
      /Backend mcp: \d+\/\d+ models available; missing: MCP server "broken" could not start/,
    );
    assert.match(result.stdout, /Backend local:/);
  });

  test('a misspelt server entry is a clear config error', async () => {
    const bad = join(home, 'bad');
    mkdirSync(bad);
    writeFileSync(
      join(bad, 'jarvis.config.json'),
      JSON.stringify({ mcp: { servers: { 'my server': { command: 'x' }, other: { comand: 'x' } } } }),
    );
    const result = await runJarvis(['models'], { cwd: bad, env });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /mcp\.servers\.my server .*letters, digits/);
    assert.match(
      result.stderr,
      /mcp\.servers\.other .*\{"command", "args", "env"\} \(stdio\) or \{"url", "headers"\}/,
    );
  });
});
