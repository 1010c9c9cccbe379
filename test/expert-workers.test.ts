// The expert worker pool seen from the command line: the built binary runs its experts in worker threads
// (dist/backends/pool/worker.js), the setting turns it off, and a cancelled run ends promptly.
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import type { RunResult } from '../src/core/events.js';
import { cleanEnvironment, NO_LLM_FLAGS, runJarvis, startJarvis } from './support/cli.js';
import { fixture } from './support/fixtures.js';

const work = mkdtempSync(join(tmpdir(), 'jarvis-expert-workers-'));
const env = (extra: NodeJS.ProcessEnv = {}) =>
  cleanEnvironment(work, { JARVIS_DATA_DIR: join(work, 'data'), JARVIS_OFFLINE: '1', ...extra });

for (const name of ['a.jpg', 'b.jpg', 'c.jpg']) copyFileSync(fixture('images', name), join(work, name));
const zebraPlan = join(work, 'zebras.json');
writeFileSync(
  zebraPlan,
  JSON.stringify([
    ...['a.jpg', 'b.jpg', 'c.jpg'].map((image, id) => ({
      id,
      task: 'object-detection',
      dep: [-1],
      args: { image },
    })),
    {
      id: 3,
      task: 'token-classification',
      dep: [-1],
      args: { text: 'Ada Lovelace met Charles Babbage in London.' },
    },
  ]),
);

function summary(result: RunResult) {
  return result.tasks.map((task) => ({ id: task.id, status: task.status, text: task.output?.text }));
}

describe('expert workers from the command line', () => {
  test('the zebra plan gives the same answers in the worker pool and with --expert-workers 0', async () => {
    const pooled = await runJarvis(['run', '--plan', zebraPlan, ...NO_LLM_FLAGS], { cwd: work, env: env() });
    assert.equal(pooled.code, 0, pooled.stderr);
    const onMain = await runJarvis(['run', '--plan', zebraPlan, ...NO_LLM_FLAGS, '--expert-workers', '0'], {
      cwd: work,
      env: env(),
    });
    assert.equal(onMain.code, 0, onMain.stderr);
    const fromPool = JSON.parse(pooled.stdout) as RunResult;
    assert.deepEqual(summary(fromPool), summary(JSON.parse(onMain.stdout) as RunResult));
    assert.match(fromPool.tasks[2]?.output?.text ?? '', /zebra/);
    for (const task of fromPool.tasks.slice(0, 3)) {
      const artifact = task.output?.artifacts?.[0];
      assert.ok(artifact?.path.startsWith(fromPool.outputDir), 'the annotated image is in the run folder');
    }
  });

  test('JARVIS_EXPERT_WORKERS that is not a number is one clear configuration error', async () => {
    const { code, stderr } = await runJarvis(['run', '--plan', zebraPlan, ...NO_LLM_FLAGS], {
      cwd: work,
      env: env({ JARVIS_EXPERT_WORKERS: 'many' }),
    });
    assert.equal(code, 1);
    assert.match(stderr, /JARVIS_EXPERT_WORKERS must be an integer, got "many"/);
  });

  test('Ctrl-C during a long expert ends the run at once: the worker is terminated, not waited for', async () => {
    const longText = Array.from(
      { length: 400 },
      (_, index) => `Ada Lovelace wrote to Charles Babbage in ${1800 + index}.`,
    )
      .join(' ')
      .slice(0, 20_000);
    const plan = join(work, 'long-ner.json');
    // Six of NER's largest inputs, one after another in the one worker: several seconds of work.
    writeFileSync(
      plan,
      JSON.stringify(
        Array.from({ length: 6 }, (_, id) => ({
          id,
          task: 'token-classification',
          dep: [-1],
          args: { text: longText },
        })),
      ),
    );
    const started = startJarvis(['run', '--plan', plan, ...NO_LLM_FLAGS, '--expert-workers', '1'], {
      cwd: work,
      env: env(),
    });
    // Cancel while the tasks run (the JSON reports them only at the end, so wait a moment).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    started.child.kill('SIGINT');
    const { code, stdout } = await started.done;
    assert.equal(code, 130, stdout);
    const result = JSON.parse(stdout) as RunResult;
    assert.ok(result.errors.some((error) => error.code === 'cancelled'));
    assert.ok(
      result.tasks.some((task) => task.error?.code === 'cancelled'),
      'a task was still running or waiting when the run was cancelled',
    );
  });
});
