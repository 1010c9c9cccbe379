import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cleanEnvironment, runJarvis } from './support/cli.js';
import { closedPort } from './support/closed-port.js';
import { fixture } from './support/fixtures.js';

test('a misspelt file in the request fails at once with a did-you-mean, before any LLM call', async () => {
  const work = mkdtempSync(join(tmpdir(), 'jarvis-cli-names-'));
  copyFileSync(fixture('images', 'a.jpg'), join(work, 'kite.jpg'));
  // The LLM address answers nothing: reaching it would fail differently (exit 1, "unreachable").
  const env = cleanEnvironment(work, {
    JARVIS_LLM_BASE_URL: `http://127.0.0.1:${await closedPort()}/v1`,
    JARVIS_LLM_MAX_RETRIES: '0',
  });
  const started = Date.now();
  const result = await runJarvis(['run', 'How many kites are in kitee.jpg?'], { cwd: work, env });
  assert.equal(result.code, 2, result.stderr);
  assert.match(result.stderr, /no file "kitee\.jpg" here; did you mean "kite\.jpg"\?/);
  assert.doesNotMatch(result.stderr, /unreachable|LLM/i);
  assert.ok(Date.now() - started < 20_000);

  // A file name with no near neighbour may be one the user wants made: that request goes on to planning.
  const output = await runJarvis(['run', 'Draw a lighthouse and save it as lighthouse.png'], {
    cwd: work,
    env,
  });
  assert.equal(output.code, 1);
  assert.match(output.stderr, /unreachable|refused|connect/i);
});
