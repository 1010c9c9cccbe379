import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { pngDeclaring } from '../../test/support/hostile-media.js';
import {
  createTestBackend,
  type TestBackend,
  type TestBackendCall,
} from '../../test/support/test-backend.js';
import {
  type InferenceBackend,
  type ModelChoice,
  ModelUnavailableError,
  type PlannedTask,
  type RunEvent,
  type TaskGraph,
  type TaskName,
  type TaskResult,
} from '../core/index.js';
import { type ExecuteOptions, executePlan } from './scheduler.js';

const TEXT_TASKS: TaskName[] = ['text-generation', 'summarization', 'translation', 'text-classification'];

const scratch = await mkdtemp(join(tmpdir(), 'jarvis-scheduler-'));
after(() => rm(scratch, { recursive: true, force: true }));
let runCounter = 0;

function task(
  id: number,
  dep: number[],
  args: PlannedTask['args'] = { text: `input ${id}` },
  name: TaskName = 'text-generation',
): PlannedTask {
  return { id, task: name, dep: dep.length === 0 ? [-1] : dep, args };
}

function chooseAll(plan: TaskGraph, backend: string, modelId = `${backend}-model`): Map<number, ModelChoice> {
  return new Map(
    plan.map((entry) => [
      entry.id,
      { taskId: entry.id, modelId, backend, reason: 'only candidate', candidates: [] },
    ]),
  );
}

/** A working folder of its own for each run. */
const freshCwd = () => join(scratch, `run-${++runCounter}`);

function run(
  plan: TaskGraph,
  backends: InferenceBackend[],
  overrides: Partial<ExecuteOptions> = {},
): Promise<TaskResult[]> {
  return runIn(freshCwd(), plan, backends, overrides);
}

/** `run` in a working folder the test has filled with input files. */
function runIn(
  cwd: string,
  plan: TaskGraph,
  backends: InferenceBackend[],
  overrides: Partial<ExecuteOptions> = {},
): Promise<TaskResult[]> {
  return executePlan({
    plan,
    choices: chooseAll(plan, backends[0]!.id),
    backends: new Map(backends.map((backend) => [backend.id, backend])),
    inputs: {
      cwd,
      allowedFiles: [],
      allowedDirs: [],
      allowPrivateUrls: false,
      maxDownloadBytes: 1_000_000,
      urlTimeoutMs: 5_000,
    },
    outputDir: join(cwd, 'out'),
    concurrency: 8,
    taskTimeoutMs: 60_000,
    ...overrides,
  });
}

/** The backend call that ran task `id`, found through the input text the plan gave it. */
function callFor(backend: TestBackend, id: number): TestBackendCall {
  const call = backend.calls.find((candidate) => candidate.inputs.text?.includes(`input ${id}`));
  assert.ok(call, `task ${id} reached the backend`);
  return call;
}

function overlaps(a: TestBackendCall, b: TestBackendCall): boolean {
  return Math.max(a.startedAt, b.startedAt) < Math.min(a.endedAt!, b.endedAt!);
}

describe('executePlan', () => {
  test('a dependant starts only after every task it depends on has ended', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 60, tasks: TEXT_TASKS });
    // 2 waits for 0 and 1 (fan-in); 3 waits for 2; the text carries "input N" so calls can be matched.
    const plan = [
      task(0, []),
      task(1, []),
      task(2, [0, 1], { text: 'input 2' }),
      task(3, [2], { text: 'input 3' }),
    ];
    const results = await run(plan, [backend]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['succeeded', 'succeeded', 'succeeded', 'succeeded'],
    );
    assert.ok(callFor(backend, 2).startedAt >= callFor(backend, 0).endedAt!);
    assert.ok(callFor(backend, 2).startedAt >= callFor(backend, 1).endedAt!);
    assert.ok(callFor(backend, 3).startedAt >= callFor(backend, 2).endedAt!);
    for (const [before, afterTask] of [
      [0, 2],
      [1, 2],
      [2, 3],
    ] as const) {
      assert.ok(results[afterTask]!.startedAt! >= results[before]!.endedAt!);
    }
  });

  test('independent tasks run at the same time', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 300, tasks: TEXT_TASKS });
    const results = await run([task(0, []), task(1, []), task(2, [])], [backend]);
    assert.ok(results.every((result) => result.status === 'succeeded'));
    assert.ok(overlaps(callFor(backend, 0), callFor(backend, 1)));
    assert.ok(overlaps(callFor(backend, 1), callFor(backend, 2)));
    assert.equal(backend.maxConcurrent, 3);
  });

  test('never runs more tasks at once than the concurrency limit', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 50, tasks: TEXT_TASKS });
    const plan = Array.from({ length: 10 }, (_, id) => task(id, []));
    const results = await run(plan, [backend], { concurrency: 3 });
    assert.equal(results.length, 10);
    assert.ok(results.every((result) => result.status === 'succeeded'));
    assert.equal(backend.maxConcurrent, 3);
  });

  test('returns results in plan order, with the model, backend and reason that were used', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 5, tasks: TEXT_TASKS });
    const plan = [task(5, [7], { text: 'input 5' }), task(7, [])];
    const results = await run(plan, [backend]);
    assert.deepEqual(
      results.map((result) => result.id),
      [5, 7],
    );
    const [first] = results;
    assert.equal(first!.status, 'succeeded');
    assert.equal(first!.model, 'test-model');
    assert.equal(first!.backend, 'test');
    assert.equal(first!.reason, 'only candidate');
    assert.ok(first!.durationMs! > 0 && first!.endedAt! >= first!.startedAt!);
  });

  test('a task past its timeout fails with code timeout while the others finish', async () => {
    const slow = createTestBackend({ id: 'slow', latencyMs: 3_000, tasks: ['summarization'] });
    const fast = createTestBackend({ id: 'fast', latencyMs: 10, tasks: TEXT_TASKS });
    const plan = [task(0, [], { text: 'input 0' }, 'summarization'), task(1, [])];
    const choices = chooseAll(plan, 'fast');
    choices.set(0, { ...choices.get(0)!, backend: 'slow', modelId: 'slow-model' });
    const results = await run(plan, [fast, slow], { choices, taskTimeoutMs: 200 });
    assert.equal(results[0]!.status, 'failed');
    assert.equal(results[0]!.error!.code, 'timeout');
    assert.match(results[0]!.error!.message, /timed out after 200 ms/);
    // The run does not wait for the backend to wind down; by the next turn of the event loop it has.
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(slow.calls[0]!.outcome, 'aborted', 'the backend saw the abort');
    assert.equal(results[1]!.status, 'succeeded');
  });

  test('a backend that ignores the abort signal still cannot hold the run past the timeout', async () => {
    const stubborn = createTestBackend({
      id: 'stubborn',
      latencyMs: 2_000,
      tasks: TEXT_TASKS,
      honoursAbort: false,
    });
    const results = await run([task(0, [])], [stubborn], { taskTimeoutMs: 150 });
    assert.equal(results[0]!.error!.code, 'timeout');
    assert.ok(results[0]!.durationMs! < 1_500, `ended after ${results[0]!.durationMs} ms`);
  });

  test('cancelling mid-run aborts running tasks and reports every task, without unhandled rejections', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const backend = createTestBackend({ id: 'test', latencyMs: 400, tasks: TEXT_TASKS });
      const controller = new AbortController();
      const events: RunEvent[] = [];
      const plan = [task(0, []), task(1, [0], { text: 'input 1' }), task(2, []), task(3, [])];
      const results = await run(plan, [backend], {
        signal: controller.signal,
        concurrency: 2,
        onEvent: (event) => {
          events.push(event);
          if (event.type === 'task-start' && event.taskId === 2) setTimeout(() => controller.abort(), 50);
        },
      });
      assert.deepEqual(
        results.map((result) => [result.id, result.status, result.error?.code]),
        [
          [0, 'failed', 'cancelled'],
          [1, 'failed', 'cancelled'],
          [2, 'failed', 'cancelled'],
          [3, 'failed', 'cancelled'],
        ],
      );
      assert.match(results[1]!.error!.message, /cancelled before it started/);
      assert.equal(results[0]!.startedAt !== null, true, 'task 0 had started');
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(
        backend.calls.map((call) => call.outcome),
        ['aborted', 'aborted'],
      );
      assert.equal(events.filter((event) => event.type === 'task-end').length, 4);
      // Give any stray promise a chance to reject unobserved before checking.
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });

  test('a signal aborted before the run starts runs nothing', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 10, tasks: TEXT_TASKS });
    const results = await run([task(0, []), task(1, [0])], [backend], { signal: AbortSignal.abort() });
    assert.deepEqual(
      results.map((result) => result.error?.code),
      ['cancelled', 'cancelled'],
    );
    assert.equal(backend.calls.length, 0);
  });

  test('an image whose header declares more than 40 megapixels fails its task with the size and the limit, and the run goes on', async () => {
    const backend = createTestBackend({
      id: 'test',
      latencyMs: 5,
      tasks: ['image-classification', 'object-detection', 'text-generation'],
    });
    const cwd = freshCwd();
    await mkdir(cwd, { recursive: true });
    // 16000×16000 in well under a kilobyte: a decoder that trusted it would allocate 256 MB and more.
    await writeFile(join(cwd, 'huge.png'), pngDeclaring(16_000, 16_000));
    await writeFile(join(cwd, 'fine.png'), pngDeclaring(6_000, 4_000));
    const plan = [
      task(0, [], { image: 'huge.png' }, 'image-classification'),
      task(1, [], { image: 'fine.png' }, 'object-detection'),
      task(2, [], { text: 'input 2' }),
    ];
    const started = performance.now();
    const results = await runIn(cwd, plan, [backend]);
    assert.ok(performance.now() - started < 5_000, 'the header alone decided');
    assert.deepEqual(
      results.map((result) => result.status),
      ['failed', 'succeeded', 'succeeded'],
    );
    assert.equal(results[0]!.error!.code, 'input');
    assert.match(
      results[0]!.error!.message,
      /huge\.png: the image is 16000×16000 \(256\.0 megapixels\), over the limit of 40 megapixels/,
    );
    assert.equal(backend.calls.length, 2, 'the oversized image never reached the backend');
  });

  test("an expert reads a private copy of a local input, removed when its task ends; the record names the user's file", async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 5, tasks: ['image-classification'] });
    const cwd = freshCwd();
    await mkdir(cwd, { recursive: true });
    await writeFile(join(cwd, 'cat.png'), pngDeclaring(64, 64));
    const seen: { path: string; existed: boolean }[] = [];
    const watching: InferenceBackend = {
      ...backend,
      async infer(request) {
        const path = request.inputs.image!.path;
        seen.push({ path, existed: existsSync(path) });
        return backend.infer(request);
      },
    };
    const [result] = await runIn(
      cwd,
      [task(0, [], { image: 'cat.png' }, 'image-classification')],
      [watching],
    );
    assert.equal(result!.status, 'succeeded');
    assert.equal(result!.args.image, 'cat.png', 'the record names the file as the plan did');
    assert.equal(seen.length, 1);
    assert.equal(seen[0]!.path, join(cwd, 'out', 'inputs', 'cat.png'));
    assert.ok(seen[0]!.existed, 'the copy was there while the expert ran');
    assert.ok(!existsSync(seen[0]!.path), 'and gone after the task ended');
  });

  test('a failing task skips its dependants transitively and everything else still runs', async () => {
    const backend = createTestBackend({
      id: 'test',
      latencyMs: 20,
      tasks: TEXT_TASKS,
      failOn: (request) => request.inputs.text === 'input 0',
    });
    const plan = [
      task(0, []),
      task(1, [0], { text: 'input 1' }),
      task(2, [1], { text: 'input 2' }),
      task(3, []),
      task(4, [3], { text: 'input 4' }),
    ];
    const results = await run(plan, [backend]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['failed', 'skipped', 'skipped', 'succeeded', 'succeeded'],
    );
    assert.equal(results[0]!.error!.code, 'inference');
    assert.match(results[0]!.error!.message, /told to fail/);
    assert.match(results[1]!.error!.message, /depends on task 0 \(text-generation\), which failed/);
    assert.match(results[2]!.error!.message, /task 1 .* skipped because task 0 \(text-generation\) failed/);
    assert.equal(results[1]!.startedAt, null);
    assert.equal(backend.calls.length, 3, 'skipped tasks never reached the backend');
  });

  test('when the chosen model cannot run, the next candidate runs the task and the reason says so', async () => {
    const broken = createTestBackend({
      id: 'remote',
      latencyMs: 5,
      tasks: TEXT_TASKS,
      failOn: () => new ModelUnavailableError('the remote model is not deployed'),
    });
    const spare = createTestBackend({ id: 'spare', latencyMs: 5, tasks: TEXT_TASKS });
    const plan = [task(0, [])];
    const events: RunEvent[] = [];
    const [result] = await run(plan, [broken, spare], {
      choices: new Map([
        [
          0,
          {
            taskId: 0,
            modelId: 'remote-model',
            backend: 'remote',
            reason: 'Best card.',
            candidates: ['remote:remote-model', 'spare:spare-model'],
          },
        ],
      ]),
      onEvent: (event) => events.push(event),
    });
    assert.equal(result?.status, 'succeeded');
    assert.equal(result?.backend, 'spare');
    assert.equal(result?.model, 'spare-model');
    assert.match(
      result?.reason ?? '',
      /^Best card\. Fell back to spare:spare-model: remote:remote-model failed \(the remote model is not deployed\)\.$/,
    );
    assert.ok(
      events.some(
        (event) => event.type === 'task-progress' && /trying spare:spare-model/.test(event.message),
      ),
    );
  });

  test('a failure caused by the task itself is not retried on another model', async () => {
    const failing = createTestBackend({
      id: 'first',
      latencyMs: 5,
      tasks: TEXT_TASKS,
      failOn: () => 'bad input',
    });
    const spare = createTestBackend({ id: 'spare', latencyMs: 5, tasks: TEXT_TASKS });
    const [result] = await run([task(0, [])], [failing, spare], {
      choices: new Map([
        [
          0,
          {
            taskId: 0,
            modelId: 'first-model',
            backend: 'first',
            reason: 'x',
            candidates: ['first:first-model', 'spare:spare-model'],
          },
        ],
      ]),
    });
    assert.equal(result?.status, 'failed');
    assert.match(result?.error?.message ?? '', /bad input/);
    assert.equal(spare.calls.length, 0);
  });

  test('error messages are redacted before they are recorded', async () => {
    const backend = createTestBackend({
      id: 'test',
      latencyMs: 1,
      tasks: TEXT_TASKS,
      failOn: () => 'upstream said: invalid token hf_abcdefghijklmnop',
    });
    const [result] = await run([task(0, [])], [backend]);
    assert.equal(result!.status, 'failed');
    assert.doesNotMatch(result!.error!.message, /hf_abcdefghijklmnop/);
    assert.match(result!.error!.message, /\*\*\*/);
  });

  test('a task without a chosen model, or with an unknown backend, fails with a clear message', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TEXT_TASKS });
    const plan = [task(0, []), task(1, []), task(2, [])];
    const choices = chooseAll(plan, 'test');
    choices.delete(0);
    choices.set(1, { ...choices.get(1)!, backend: 'nowhere' });
    const results = await run(plan, [backend], { choices });
    assert.equal(results[0]!.error!.code, 'no-model');
    assert.match(results[0]!.error!.message, /No model was chosen for task 0 \(text-generation\)/);
    assert.equal(results[1]!.error!.code, 'no-such-backend');
    assert.match(results[1]!.error!.message, /"nowhere", which is not registered \(registered: test\)/);
    assert.equal(results[2]!.status, 'succeeded');
  });

  test("a task selection found no runnable model for fails with selection's reason", async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TEXT_TASKS });
    const plan = [task(0, []), task(1, [0], { text: 'input 1' })];
    const choices = chooseAll(plan, 'test');
    choices.delete(0);
    const reason = 'no runnable model for text-generation (hf:gpt2: needs a Hugging Face token)';
    const results = await run(plan, [backend], { choices, unavailable: new Map([[0, reason]]) });
    assert.deepEqual(results[0]!.error, { code: 'no-model', message: reason });
    assert.equal(results[1]!.status, 'skipped');
  });

  test('a task the chosen backend cannot run fails instead of calling it', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: ['translation'] });
    const [result] = await run([task(0, [])], [backend]);
    assert.equal(result!.error!.code, 'unsupported-task');
    assert.equal(backend.calls.length, 0);
  });

  test('plans that cannot run (unknown dependency, cycle, repeated id) fail those tasks and run the rest', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TEXT_TASKS });
    const plan = [
      task(0, [9]),
      task(1, [0], { text: 'input 1' }),
      task(2, [3], { text: 'input 2' }),
      task(3, [2], { text: 'input 3' }),
      task(4, [3], { text: 'input 4' }),
      task(5, []),
      task(5, [], { text: 'duplicate' }),
    ];
    const results = await run(plan, [backend]);
    assert.deepEqual(
      results.map((result) => result.status),
      ['failed', 'skipped', 'failed', 'failed', 'skipped', 'succeeded', 'failed'],
    );
    assert.match(results[0]!.error!.message, /depends on task 9, which is not in the plan/);
    assert.match(results[2]!.error!.message, /dependency cycle \(tasks 2, 3\)/);
    assert.match(results[6]!.error!.message, /repeats the id/);
  });

  test('a <GENERATED> reference is waited for even when the plan forgot the dependency', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 40, tasks: TEXT_TASKS });
    const plan = [task(0, []), task(1, [], { text: '<GENERATED>-0' }, 'summarization')];
    const results = await run(plan, [backend]);
    assert.equal(results[1]!.status, 'succeeded');
    assert.equal(
      results[1]!.args.text,
      results[0]!.status === 'succeeded' ? results[0]!.output.text : undefined,
    );
    assert.ok(results[1]!.startedAt! >= results[0]!.endedAt!);
  });

  test('reports task-start, task-progress and task-end events for each task', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 5, tasks: TEXT_TASKS });
    const events: RunEvent[] = [];
    await run([task(0, []), task(1, [0], { text: 'input 1' })], [backend], {
      onEvent: (event) => events.push(event),
    });
    const summary = events.map((event) =>
      event.type === 'task-end'
        ? `${event.type}:${event.result.id}`
        : `${event.type}:${'taskId' in event ? event.taskId : ''}`,
    );
    assert.deepEqual(summary, [
      'task-start:0',
      'task-progress:0',
      'task-end:0',
      'task-start:1',
      'task-progress:1',
      'task-end:1',
    ]);
    const start = events[0];
    assert.ok(start?.type === 'task-start' && start.model === 'test-model' && start.backend === 'test');
    const progress = events[1];
    assert.ok(progress?.type === 'task-progress' && progress.message === 'running test-model');
  });

  test('a listener that throws does not break the run', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TEXT_TASKS });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.message);
    process.on('warning', onWarning);
    try {
      const results = await run([task(0, [])], [backend], {
        onEvent: () => {
          throw new Error('listener bug');
        },
      });
      assert.equal(results[0]!.status, 'succeeded');
      await new Promise((resolve) => setImmediate(resolve));
      assert.ok(warnings.some((message) => message.includes('listener bug')));
    } finally {
      process.off('warning', onWarning);
    }
  });

  test('an empty plan finishes at once with no results', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TEXT_TASKS });
    assert.deepEqual(await run([], [backend]), []);
  });
});
