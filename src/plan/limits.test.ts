import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fibonacciBomb } from '../../test/fuzz/plan-cases.js';
import { PlanError } from '../core/errors.js';
import { firstJsonValue } from '../core/lenient-json.js';
import type { ControllerModel } from '../core/llm.js';
import {
  MAX_ARGUMENT_CHARS,
  MAX_ARGUMENTS_PER_TASK,
  MAX_ITEMS_PER_ARGUMENT,
  MAX_NESTING_DEPTH,
  MAX_REPLY_CHARS,
  MAX_SUGGESTIONS,
  MAX_TASK_NAME_CHARS,
  MAX_TASKS,
} from '../core/plan-limits.js';
import { normalizeTaskName } from '../core/tasks.js';
import { closestTask, parsePlanText, planFromFile, planTasks, validatePlan } from './index.js';

/** Runs `work` and fails when it took longer than `ms`: bounded work is the behaviour under test. */
function within<T>(ms: number, work: () => T): T {
  const started = performance.now();
  const result = work();
  const took = performance.now() - started;
  assert.ok(took < ms, `took ${took.toFixed(0)} ms, expected under ${ms} ms`);
  return result;
}

function planErrorOf(work: () => unknown): PlanError {
  try {
    work();
  } catch (error) {
    assert.ok(error instanceof PlanError, `expected a PlanError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a PlanError');
}

describe('plans beyond the limits are refused quickly, with a problem naming the limit', () => {
  test('35 summaries each reading the two before (a 3.3 KB request) are refused by their task count, not by running out of memory', () => {
    const bomb = fibonacciBomb(35);
    assert.ok(JSON.stringify(bomb).length < 4_000);
    const { plan, problems } = within(500, () => validatePlan(bomb));
    assert.deepEqual(plan, []);
    assert.equal(problems.length, 1);
    assert.match(
      problems[0]!,
      new RegExp(`^The plan has \\d+ or more tasks after splitting .*at most ${MAX_TASKS} tasks\\.$`),
    );
  });

  test('a text naming several tasks that each list files is refused before its copies multiply', () => {
    const producers = Array.from({ length: 10 }, (_, id) => ({
      id,
      task: 'image-to-text',
      args: { image: ['a.jpg', 'b.jpg', 'c.jpg'] },
    }));
    const refs = producers.map((task) => `<GENERATED>-${task.id}`).join(' with ');
    const tasks = [...producers, { id: 10, task: 'summarization', args: { text: `Join ${refs}.` } }];
    const { plan, problems } = within(500, () => validatePlan(tasks));
    assert.deepEqual(plan, []);
    assert.match(problems.join(' '), /or more tasks after splitting lists of inputs/);
  });

  test('two tasks listing 250 files each are refused at once, naming the per-argument limit', () => {
    const tasks = [0, 1].map((id) => ({
      id,
      task: 'image-classification',
      args: { image: Array.from({ length: 250 }, (_, index) => `${id}-${index}.jpg`) },
    }));
    const { problems } = within(200, () => validatePlan(tasks));
    assert.deepEqual(problems, [
      `Task 0 (image-classification): argument "image" lists 250 values; an argument lists at most ${MAX_ITEMS_PER_ARGUMENT}.`,
      `Task 1 (image-classification): argument "image" lists 250 values; an argument lists at most ${MAX_ITEMS_PER_ARGUMENT}.`,
    ]);
  });

  test('a list of 10,000 chained tasks is refused by its length, not with a stack overflow', () => {
    const chain = Array.from({ length: 10_000 }, (_, id) => ({
      id,
      task: 'summarization',
      args: { text: id === 0 ? 'start' : `<GENERATED>-${id - 1}` },
    }));
    const { problems } = within(500, () => validatePlan(chain));
    assert.deepEqual(problems, [`The plan has 10000 tasks; use at most ${MAX_TASKS}.`]);
    const error = planErrorOf(() => within(2_000, () => planFromFile({ task_nodes: chain })));
    assert.match(error.message, /The TaskBench plan has 10000 nodes; use at most 64\./);
  });

  test('a caller allowing 12,000 tasks gets a cycle of 12,000 tasks reported, not a stack overflow', () => {
    const count = 12_000;
    const ring = Array.from({ length: count }, (_, id) => ({
      id,
      task: 'summarization',
      args: { text: `<GENERATED>-${(id + 1) % count}` },
    }));
    const { plan, problems } = within(5_000, () => validatePlan(ring, { maxTasks: count }));
    assert.deepEqual(plan, []);
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /^Tasks 0, 1, 2, .* depend on each other in a cycle/);
  });

  test('a plan given as something other than a list is a problem, not a TypeError', () => {
    for (const value of [null, {}, 'tasks', 42]) {
      const { plan, problems } = validatePlan(value as unknown as unknown[]);
      assert.deepEqual(plan, []);
      assert.match(problems[0]!, /must be a list of tasks/);
    }
  });

  test('a task with more arguments than a task can take is refused', () => {
    const args = Object.fromEntries(Array.from({ length: 5_000 }, (_, index) => [`text${index}`, 'v']));
    const { problems } = within(200, () => validatePlan([{ id: 0, task: 'summarization', args }]));
    assert.deepEqual(problems, [
      `Task 0 (summarization) has 5000 arguments; a task has at most ${MAX_ARGUMENTS_PER_TASK}.`,
    ]);
  });

  test('a task name of 500 words is refused without a did-you-mean, in milliseconds', () => {
    const name = Array.from({ length: 500 }, () => 'a').join(' ');
    const { problems } = within(100, () => validatePlan([{ id: 0, task: name, args: { text: 'x' } }]));
    assert.deepEqual(problems, [
      `Task 0: its task name is 999 characters long ("${name.slice(0, 30)}..."); task names have at most ${MAX_TASK_NAME_CHARS}.`,
    ]);
    assert.equal(
      within(100, () => closestTask(name)),
      undefined,
    );
  });

  test('a text argument longer than a reply may be is refused, naming its length', () => {
    const text = 'word '.repeat(80_000);
    const { problems } = within(200, () =>
      validatePlan([{ id: 0, task: 'token-classification', args: { text } }]),
    );
    assert.deepEqual(problems, [
      `Task 0 (token-classification) has an argument of 400000 characters; an argument has at most ${MAX_ARGUMENT_CHARS}.`,
    ]);
  });

  test('a plan of 64 unknown task names gets a did-you-mean for the first few only, and quickly', () => {
    const tasks = Array.from({ length: 64 }, (_, id) => ({
      id,
      task: `objet-detectoin-${id}`,
      args: { image: 'a.jpg' },
    }));
    const { problems } = within(300, () => validatePlan(tasks));
    assert.equal(problems.filter((problem) => problem.includes('the closest is')).length, MAX_SUGGESTIONS);
    assert.equal(problems.length, 64);
  });

  test('an argument nested deeper than a plan can be is refused, not walked', () => {
    let deep: unknown = 'bottom';
    for (let level = 0; level < 20_000; level++) deep = [deep];
    const { problems } = within(500, () =>
      validatePlan([{ id: 0, task: 'summarization', args: { text: deep } }]),
    );
    assert.deepEqual(problems, [`Task 0 nests lists and objects more than ${MAX_NESTING_DEPTH} deep.`]);
    const error = planErrorOf(() => planFromFile([{ id: 0, task: 'summarization', args: { text: deep } }]));
    assert.equal(error.message, `The plan nests lists and objects more than ${MAX_NESTING_DEPTH} deep.`);
  });
});

describe('task and argument names are looked up among our own names only', () => {
  test('"constructor", "Constructor", "con_structor" and "__proto__" are not task names', () => {
    for (const name of [
      'constructor',
      'Constructor',
      'con_structor',
      '__proto__',
      'toString',
      'has own property',
    ]) {
      assert.equal(normalizeTaskName(name), undefined, name);
      const { plan, problems } = validatePlan([{ id: 0, task: name, args: { text: 'hello' } }]);
      assert.deepEqual(plan, [], name);
      assert.match(problems[0]!, /is not an available task/, name);
    }
    const error = planErrorOf(() =>
      planFromFile({ task_nodes: [{ task: 'Constructor', arguments: ['x'] }] }),
    );
    assert.match(error.message, /"Constructor" is not an available task/);
  });

  test('an argument called "constructor" is an unknown argument, not an alias', () => {
    const { problems } = validatePlan([{ id: 0, task: 'summarization', args: { constructor: 'hello' } }]);
    assert.deepEqual(problems, [
      'Task 0 (summarization): argument "constructor" is not one of text, image, audio, video.',
    ]);
  });
});

describe('the tolerant reader is linear in its input or gives up with a clear error', () => {
  test(`a reply longer than ${MAX_REPLY_CHARS} characters is refused, naming its length`, () => {
    const reply = `[{"id": 0, "task": "summarization", "args": {"text": "${'x'.repeat(MAX_REPLY_CHARS)}"}}]`;
    const error = planErrorOf(() => within(100, () => parsePlanText(reply)));
    assert.equal(
      error.message,
      `The reply could not be read: The reply is ${reply.length} characters long; at most ${MAX_REPLY_CHARS} are read.`,
    );
    assert.equal(firstJsonValue(reply), undefined);
  });

  test('a reply of unclosed brackets just under the length limit is given up quickly, not read segment by segment', () => {
    const reply = '[{"task": "a'.repeat(Math.floor(MAX_REPLY_CHARS / 12));
    const error = planErrorOf(() => within(1_000, () => parsePlanText(reply)));
    assert.match(error.message, /^The reply could not be read: /);
    within(1_000, () => firstJsonValue(`prose [${' [x'.repeat(30_000)}`));
  });

  test('a reply nested 15,000 deep is a PlanError naming the depth, not a stack overflow', () => {
    for (const reply of ['['.repeat(15_000), `${'{"a":'.repeat(15_000)}1${'}'.repeat(15_000)}`]) {
      const error = planErrorOf(() => within(200, () => parsePlanText(reply)));
      assert.match(error.message, new RegExp(`more than ${MAX_NESTING_DEPTH} deep`));
    }
  });

  test('many unclosed <think> tags are read in linear time', () => {
    const reply = `${'<think>'.repeat(14_000)}[{"id": 0, "task": "summarization", "args": {"text": "hi"}}]`;
    const { tasks } = within(200, () => parsePlanText(reply));
    assert.equal(tasks.length, 1);
  });
});

describe('planning never throws on what the LLM replied', () => {
  const replying = (text: string): ControllerModel => ({
    id: 'test:reply',
    contextTokens: 16_000,
    chat: async () => ({ text, usage: { inputTokens: 1, outputTokens: 1 } }),
  });

  test('an unfold bomb, a 10,000-task chain and a deep reply each end as a failed plan with problems', async () => {
    const chain = Array.from({ length: 10_000 }, (_, id) => ({
      id,
      task: 'summarization',
      args: { text: 'x' },
    }));
    for (const reply of [JSON.stringify(fibonacciBomb(35)), JSON.stringify(chain), '['.repeat(15_000)]) {
      const outcome = await planTasks({ request: 'r', controller: replying(reply) });
      assert.equal(outcome.ok, false);
      assert.deepEqual(outcome.plan, []);
      assert.ok(outcome.problems.length > 0);
    }
  });
});
