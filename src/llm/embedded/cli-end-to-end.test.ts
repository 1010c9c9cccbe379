import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeTinyGguf } from '../../../scripts/make-tiny-gguf.js';
import { type CliResult, cleanEnvironment, runJarvis } from '../../../test/support/cli.js';
import { TASK_NAMES } from '../../core/tasks.js';

/**
 * `jarvis` as a user runs it, with no endpoint and JARVIS_LOCAL_MODEL pointing at a tiny random GGUF model:
 * every stage that asks the LLM goes through node-llama-cpp and its JSON-schema grammars.
 */
const repo = fileURLToPath(new URL('../../../', import.meta.url));

let dir: string;
let modelPath: string;

function baseEnv(): NodeJS.ProcessEnv {
  return cleanEnvironment(dir, {
    JARVIS_DATA_DIR: join(dir, 'data'),
    JARVIS_CACHE_DIR: join(dir, 'cache'),
    JARVIS_OFFLINE: '1',
  });
}

function jarvis(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runJarvis(args, { cwd: dir, env });
}

/** The shape every plan must have, checked by hand so that the test does not trust the code under test. */
function assertTaskGraph(plan: unknown): void {
  assert.ok(Array.isArray(plan), 'the plan is a list');
  for (const task of plan as Record<string, unknown>[]) {
    assert.equal(typeof task.id, 'number');
    assert.ok(
      (TASK_NAMES as readonly string[]).includes(task.task as string),
      `unknown task ${String(task.task)}`,
    );
    assert.ok(Array.isArray(task.dep) && task.dep.every((id) => typeof id === 'number'));
    assert.equal(typeof task.args, 'object');
    for (const value of Object.values(task.args as object)) assert.equal(typeof value, 'string');
  }
}

before(() => {
  assert.ok(existsSync(join(repo, 'dist', 'cli', 'main.js')), 'build first: npm run build (npm test does)');
  dir = mkdtempSync(join(tmpdir(), 'jarvis-cli-embedded-'));
  modelPath = writeTinyGguf(join(dir, 'tiny.gguf'), { seed: 5 });
});

after(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('jarvis with an embedded model and no endpoint', { timeout: 300_000 }, () => {
  test('jarvis plan prints a valid task graph planned by the local model', async () => {
    const result = await jarvis(
      ['plan', '--json', 'How many zebras are in zebras.jpg? Read the answer aloud.'],
      {
        ...baseEnv(),
        JARVIS_LOCAL_MODEL: modelPath,
      },
    );
    // Random weights may plan nonsense that fails validation twice (exit 3, an empty plan): still valid JSON.
    assert.ok(result.code === 0 || result.code === 3, result.stderr);
    if (result.code === 3) assert.match(result.stderr, /plan stayed invalid/);
    assertTaskGraph(JSON.parse(result.stdout));
  });

  test('jarvis run --no-answer reports a schema-valid run with the planning call counted', async () => {
    // The plan is valid by construction, so its tasks run (on whatever the random model wrote): bounded here.
    const result = await jarvis(
      ['run', '--no-answer', '--json', '--timeout', '10000', 'Describe the objects in photo.jpg'],
      {
        ...baseEnv(),
        JARVIS_LOCAL_MODEL: modelPath,
      },
    );
    assert.ok(result.code === 0 || result.code === 3, result.stderr);
    const run = JSON.parse(result.stdout) as {
      plan: unknown;
      answer: unknown;
      usage: { inputTokens: number; byStage: Record<string, { calls: number }> };
      errors: { stage: string }[];
      tasks: { status: string }[];
    };
    assertTaskGraph(run.plan);
    // Exit 3: a task failed on the random arguments (or, for a reply too long to read, planning did).
    if (result.code === 3) {
      assert.ok(
        run.errors[0]?.stage === 'plan' || run.tasks.some((task) => task.status !== 'succeeded'),
        result.stdout,
      );
    }
    assert.ok(Array.isArray(run.tasks));
    assert.equal(run.answer, null);
    assert.ok(run.usage.byStage.plan!.calls >= 1);
    assert.ok(run.usage.inputTokens > 0);
  });

  test('model selection among several candidates goes through the local model too', async () => {
    const planFile = join(dir, 'speak.json');
    writeFileSync(
      planFile,
      JSON.stringify([{ id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'hello' } }]),
    );
    const result = await jarvis(['run', '--plan', planFile, '--no-answer', '--json', 'Say hello'], {
      ...baseEnv(),
      JARVIS_LOCAL_MODEL: modelPath,
    });
    assert.equal(result.code, 0, result.stderr);
    const run = JSON.parse(result.stdout) as {
      tasks: { model: string; backend: string }[];
      usage: { byStage: Record<string, { calls: number }> };
    };
    assert.equal(run.usage.byStage.select?.calls, 1);
    assert.equal(run.tasks[0]?.backend, 'local');
    assert.ok(run.tasks[0]?.model);
  });

  test('offline with no model anywhere, jarvis plan says the three ways forward', async () => {
    const result = await jarvis(['plan', 'Describe photo.jpg'], baseEnv());
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /JARVIS_LLM_BASE_URL/);
    assert.match(result.stderr, /JARVIS_LOCAL_MODEL to a GGUF file/);
    assert.match(result.stderr, /allow the download of the default local model/);
    assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
  });

  test('a local model file that does not exist is named in the error', async () => {
    const result = await jarvis(['plan', 'Describe photo.jpg'], {
      ...baseEnv(),
      JARVIS_LOCAL_MODEL: join(dir, 'missing.gguf'),
    });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /missing\.gguf does not exist/);
  });
});
