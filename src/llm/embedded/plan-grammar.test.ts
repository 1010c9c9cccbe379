import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { writeTinyGguf } from '../../../scripts/make-tiny-gguf.js';
import { cleanEnvironment, runMain } from '../../../test/support/cli.js';
import { validatePlan } from '../../plan/index.js';

/**
 * `jarvis plan` on tiny GGUF models with random weights: whatever they write, the grammar built from the
 * task rules (names, required argument kinds, references to earlier tasks only) makes it a valid plan on
 * the first reply, so `jarvis plan` exits 0 for every seed.
 */
const SEEDS = [1, 2, 3, 4, 5, 6];
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'jarvis-plan-grammar-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function jarvisPlan(
  model: string,
  request: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(['plan', '--json', request], {
    cwd: dir,
    env: cleanEnvironment(dir, {
      JARVIS_LOCAL_MODEL: model,
      JARVIS_OFFLINE: '1',
      JARVIS_DATA_DIR: join(dir, 'data'),
      JARVIS_CACHE_DIR: join(dir, 'cache'),
    }),
  });
}

describe('plans from the embedded model are valid by construction', { timeout: 600_000 }, () => {
  for (const seed of SEEDS) {
    test(`a random tiny model (seed ${seed}) plans a valid task graph through jarvis plan`, async () => {
      const model = writeTinyGguf(join(dir, `tiny-${seed}.gguf`), { seed });
      const result = await jarvisPlan(model, 'How many zebras are in a.jpg? Read the answer aloud.');
      assert.equal(result.code, 0, `the plan stayed invalid: ${result.stderr}`);
      const plan = JSON.parse(result.stdout) as unknown[];
      assert.ok(Array.isArray(plan));
      assert.deepEqual(validatePlan(plan).problems, []);
    });
  }
});
