import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { type ChatHistoryItem, TokenBias } from 'node-llama-cpp';
import { writeTinyGguf } from '../../../scripts/make-tiny-gguf.js';
import { cleanEnvironment, runMain } from '../../../test/support/cli.js';
import type { GrammarSteps } from '../../core/llm.js';
import { parsePlanText, planGrammarSteps, validatePlan } from '../../plan/index.js';
import { generateInSteps } from './controller.js';
import { disposeEmbeddedModels, type LoadedModel, loadSharedModel } from './runtime.js';

/**
 * `jarvis plan` on tiny GGUF models with random weights: whatever they write, the grammars built from the
 * task rules (names, required argument kinds, references to earlier tasks only, in a media argument only to
 * tasks that produce that kind) make it a valid plan on the first reply, so `jarvis plan` exits 0.
 */
const MODELS = [
  ...[1, 2, 3, 4, 5, 6].map((seed) => ({ seed, embeddingLength: 64, blockCount: 1 })),
  ...[7, 8].map((seed) => ({ seed, embeddingLength: 128, blockCount: 2 })),
];
const REQUESTS = [
  'How many zebras are in a.jpg? Read the answer aloud.',
  'Draw a zebra on a beach, then tell me which objects are in the picture.',
];
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'jarvis-plan-grammar-'));
});
after(async () => {
  await disposeEmbeddedModels();
  rmSync(dir, { recursive: true, force: true });
});

function jarvisPlan(
  model: string,
  request: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runMain(['plan', '--json', request], {
    cwd: dir,
    env: cleanEnvironment(dir, {
      JARVIS_LOCAL_MODEL: model,
      JARVIS_OFFLINE: '1',
      // One thread on every machine: the same sums in the same order, so a seed writes the same plan.
      JARVIS_LLM_THREADS: '1',
      JARVIS_DATA_DIR: join(dir, 'data'),
      JARVIS_CACHE_DIR: join(dir, 'cache'),
    }),
  });
}

describe('plans from the embedded model are valid by construction', { timeout: 900_000 }, () => {
  MODELS.forEach(({ seed, embeddingLength, blockCount }, index) => {
    const request = REQUESTS[index % REQUESTS.length]!;
    test(`a random tiny model (${embeddingLength} wide, seed ${seed}) plans a valid task graph through jarvis plan`, async () => {
      const model = writeTinyGguf(join(dir, `tiny-${embeddingLength}-${seed}.gguf`), {
        seed,
        embeddingLength,
        blockCount,
      });
      const result = await jarvisPlan(model, request);
      assert.equal(result.code, 0, `the plan stayed invalid: ${result.stderr}`);
      const plan = JSON.parse(result.stdout) as unknown[];
      assert.ok(Array.isArray(plan));
      assert.deepEqual(validatePlan(plan).problems, []);
    });
  });

  test('a tiny model that favours "<" refers to an earlier image in an image argument, and the plan is valid', async () => {
    // Seed 1 picks image tasks; favouring "<" makes it write a reference wherever the grammar allows one.
    const model = writeTinyGguf(join(dir, 'favours-references.gguf'), { seed: 1, favour: '<' });
    const result = await jarvisPlan(model, REQUESTS[1]!);
    assert.equal(result.code, 0, `the plan stayed invalid: ${result.stderr}`);
    const plan = JSON.parse(result.stdout) as { task: string; args: Record<string, string> }[];
    assert.deepEqual(validatePlan(plan).problems, []);
    const mediaReferences = plan.flatMap((task) =>
      Object.entries(task.args).filter(([kind, value]) => kind !== 'text' && /^<GENERATED>-\d+$/.test(value)),
    );
    assert.ok(mediaReferences.length > 0, `no media reference in ${result.stdout}`);
  });
});

/**
 * A model steered to write `target` under the planner's grammar steps: each sampled token gets a bias that
 * makes it the next byte of `target` (the tiny model's vocabulary has one token per byte) wherever the
 * grammar allows that byte. What comes out is `target` exactly when every step's grammar accepts it; where a
 * grammar refuses a byte, the model writes something else there.
 */
async function steeredPlan(loaded: LoadedModel, target: string): Promise<string> {
  const inner = planGrammarSteps();
  let at = 0;
  const steps: GrammarSteps = {
    maxSteps: inner.maxSteps,
    next(reply) {
      at = reply.length;
      return inner.next(reply);
    },
  };
  const history: ChatHistoryItem[] = [
    { type: 'system', text: 'Plan the tasks.' },
    { type: 'user', text: 'Draw a zebra, then find the objects in it.' },
    { type: 'model', response: [] },
  ];
  return generateInSteps(loaded.chat, history, steps, {
    maxTokens: target.length + 400,
    temperature: 0,
    repeatPenalty: false,
    // One call per sampled token: the next byte of the target is the one to write.
    tokenBias: () => {
      const bias = new TokenBias(loaded.model.tokenizer);
      const next = target[at++];
      if (next !== undefined) bias.set(loaded.model.tokenize(next), { logit: 1e6 });
      return bias;
    },
    grammarFor: (gbnf) => loaded.model.llama.createGrammar({ grammar: gbnf }),
  });
}

const plan = (...tasks: object[]) => JSON.stringify({ tasks });

describe('the grammar steps, evaluated by llama.cpp', { timeout: 300_000 }, () => {
  let loaded: LoadedModel;
  before(async () => {
    const model = writeTinyGguf(join(dir, 'steered.gguf'), { seed: 3 });
    loaded = await loadSharedModel(model, { threads: 1, maxContextTokens: 4096 });
  });

  const accepted: [string, string][] = [
    [
      'object detection on the image text-to-image made',
      plan(
        { task: 'text-to-image', id: 0, dep: [-1], args: { text: 'a zebra on a beach' } },
        { task: 'object-detection', id: 1, dep: [0], args: { image: '<GENERATED>-0' } },
      ),
    ],
    [
      'a caption of a segmentation mask, read aloud, and the speech transcribed',
      plan(
        { task: 'image-segmentation', id: 0, dep: [-1], args: { image: 'a.jpg' } },
        { task: 'image-to-text', id: 1, dep: [0], args: { image: '<GENERATED>-0' } },
        { task: 'text-to-speech', id: 2, dep: [1], args: { text: '<GENERATED>-1' } },
        { task: 'automatic-speech-recognition', id: 3, dep: [2], args: { audio: '<GENERATED>-2' } },
      ),
    ],
  ];
  for (const [what, target] of accepted) {
    test(`a model steered to write ${what} writes it, and it is a valid plan`, async () => {
      const reply = await steeredPlan(loaded, target);
      assert.equal(reply, target);
      const checked = validatePlan(parsePlanText(reply).tasks);
      assert.deepEqual(checked.problems, []);
      assert.ok(checked.plan.some((task) => Object.values(task.args).includes('<GENERATED>-0')));
    });
  }

  const refused: [string, string][] = [
    [
      'an image argument that refers to a task producing text',
      plan(
        { task: 'text-classification', id: 0, dep: [-1], args: { text: 'a zebra' } },
        { task: 'object-detection', id: 1, dep: [0], args: { image: '<GENERATED>-0' } },
      ),
    ],
    [
      'an audio argument that refers to a task producing an image',
      plan(
        { task: 'text-to-image', id: 0, dep: [-1], args: { text: 'a zebra' } },
        { task: 'automatic-speech-recognition', id: 1, dep: [0], args: { audio: '<GENERATED>-0' } },
      ),
    ],
    [
      'a reference to a later task',
      plan({ task: 'text-to-speech', id: 0, dep: [-1], args: { text: '<GENERATED>-1' } }),
    ],
    [
      'a reference spelt inside a literal',
      plan({ task: 'text-to-speech', id: 0, dep: [-1], args: { text: 'say <GENERATED>-3' } }),
    ],
  ];
  for (const [what, target] of refused) {
    test(`a model steered to write ${what} cannot, and what it writes instead is a valid plan`, async () => {
      const reply = await steeredPlan(loaded, target);
      assert.notEqual(reply, target);
      assert.deepEqual(validatePlan(parsePlanText(reply).tasks).problems, []);
    });
  }
});
