import assert from 'node:assert/strict';
import { mkdtemp, readFile, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fixture } from '../../test/support/fixtures.js';
import { createTestBackend } from '../../test/support/test-backend.js';
import type { ModelChoice, PlannedTask, TaskGraph, TaskName, TaskResult } from '../core/index.js';
import { executePlan } from './scheduler.js';

const FIXTURE_IMAGES = fixture('images');

const scratch = await realpath(await mkdtemp(join(tmpdir(), 'jarvis-resolve-')));
after(() => rm(scratch, { recursive: true, force: true }));
let runCounter = 0;

const TASKS: TaskName[] = [
  'text-generation',
  'summarization',
  'text-classification',
  'text-to-image',
  'image-to-text',
  'image-to-image',
  'visual-question-answering',
  'text-to-speech',
  'automatic-speech-recognition',
  'object-detection',
];

function task(id: number, name: TaskName, args: PlannedTask['args'], dep: number[] = []): PlannedTask {
  return { id, task: name, dep: dep.length === 0 ? [-1] : dep, args };
}

async function run(plan: TaskGraph, cwd = scratch): Promise<{ results: TaskResult[]; outputDir: string }> {
  const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TASKS });
  const outputDir = join(scratch, `out-${++runCounter}`);
  const choices = new Map<number, ModelChoice>(
    plan.map((entry) => [
      entry.id,
      {
        taskId: entry.id,
        modelId: `model-for-${entry.task}`,
        backend: 'test',
        reason: 'test',
        candidates: [],
      },
    ]),
  );
  const results = await executePlan({
    plan,
    choices,
    backends: new Map([[backend.id, backend]]),
    inputs: {
      cwd,
      allowedFiles: [],
      allowedDirs: [],
      allowPrivateUrls: false,
      maxDownloadBytes: 1e6,
      urlTimeoutMs: 5e3,
    },
    outputDir,
    concurrency: 4,
    taskTimeoutMs: 30_000,
  });
  return { results, outputDir };
}

function succeeded(result: TaskResult | undefined): Extract<TaskResult, { status: 'succeeded' }> {
  assert.ok(result, 'result exists');
  assert.equal(result.status, 'succeeded', result.error?.message);
  return result as Extract<TaskResult, { status: 'succeeded' }>;
}

describe('<GENERATED>-k resolution', () => {
  test('an image argument receives the image file task k produced, with its media type', async () => {
    const { results, outputDir } = await run([
      task(0, 'text-to-image', { text: 'a zebra' }),
      task(1, 'image-to-text', { image: '<GENERATED>-0' }, [0]),
    ]);
    const producer = succeeded(results[0]);
    const consumer = succeeded(results[1]);
    const image = producer.output.artifacts![0]!;
    assert.equal(image.path, join(outputDir, '0-text-to-image.png'));
    assert.deepEqual([...(await readFile(image.path)).subarray(1, 4)], [0x50, 0x4e, 0x47], 'a real PNG');
    assert.equal(consumer.args.image, image.path);
    assert.match(consumer.output.text!, new RegExp(`image=${image.path} \\(image/png\\)`));
  });

  test('an audio argument receives the audio task k produced', async () => {
    const { results } = await run([
      task(0, 'text-to-speech', { text: 'hello there' }),
      task(1, 'automatic-speech-recognition', { audio: '<GENERATED>-0' }, [0]),
    ]);
    const speech = succeeded(results[0]).output.artifacts![0]!;
    assert.equal(speech.mimeType, 'audio/wav');
    assert.equal(succeeded(results[1]).args.audio, speech.path);
    assert.match(succeeded(results[1]).output.text!, /\(audio\/wav\)/);
  });

  test('a text argument receives the text of task k, also inside a longer sentence', async () => {
    const { results } = await run([
      task(0, 'text-generation', { text: 'write a story' }),
      task(1, 'summarization', { text: '<GENERATED>-0' }, [0]),
      task(2, 'text-generation', { text: 'Translate this: <GENERATED>-1!' }, [1]),
    ]);
    const story = succeeded(results[0]).output.text!;
    assert.equal(succeeded(results[1]).args.text, story);
    assert.equal(succeeded(results[2]).args.text, `Translate this: ${succeeded(results[1]).output.text}!`);
  });

  test('text from a task without text output is its structured data as JSON', async () => {
    const backend = createTestBackend({ id: 'test', latencyMs: 1, tasks: TASKS });
    const dataOnly = {
      ...backend,
      infer: async (request: Parameters<typeof backend.infer>[0]) => ({
        data: { labels: ['zebra'], echo: request.inputs.text },
      }),
    };
    const plan = [
      task(0, 'object-detection', { text: 'x' }),
      task(1, 'summarization', { text: '<GENERATED>-0' }, [0]),
    ];
    const results = await executePlan({
      plan,
      choices: new Map(
        plan.map((entry) => [
          entry.id,
          { taskId: entry.id, modelId: 'm', backend: 'data-only', reason: '', candidates: [] },
        ]),
      ),
      backends: new Map([['data-only', dataOnly]]),
      inputs: {
        cwd: scratch,
        allowedFiles: [],
        allowedDirs: [],
        allowPrivateUrls: false,
        maxDownloadBytes: 1,
        urlTimeoutMs: 1,
      },
      outputDir: join(scratch, 'data-only'),
      concurrency: 2,
      taskTimeoutMs: 10_000,
    });
    assert.equal(succeeded(results[1]).args.text, '{"labels":["zebra"],"echo":"x"}');
  });

  test('a reference to a kind task k did not produce fails that task with a clear message', async () => {
    const { results } = await run([
      task(0, 'text-classification', { text: 'I love it' }),
      task(1, 'image-to-text', { image: '<GENERATED>-0' }, [0]),
      task(2, 'summarization', { text: '<GENERATED>-1' }, [1]),
    ]);
    assert.equal(results[1]!.status, 'failed');
    assert.equal(results[1]!.error!.code, 'input');
    assert.match(
      results[1]!.error!.message,
      /task 1 needs an image from task 0, but task 0 produced text, data/,
    );
    assert.equal(results[2]!.status, 'skipped');
  });
});

describe('literal file arguments', () => {
  test('a file in the working directory is recorded as the plan named it, with the media type of its content', async () => {
    const { results } = await run(
      [task(0, 'visual-question-answering', { image: 'a.jpg', text: 'what animal is this?' })],
      FIXTURE_IMAGES,
    );
    const result = succeeded(results[0]);
    assert.equal(result.args.image, 'a.jpg');
    assert.equal(result.args.text, 'what animal is this?');
    assert.match(result.output.text!, /\(image\/jpeg\)/);
  });

  test('a path that escapes the working directory fails the task and is never read', async () => {
    const cwd = join(scratch, 'project');
    const { results } = await run(
      [
        task(0, 'image-to-text', { image: '../../../../../etc/passwd' }),
        task(1, 'image-to-text', { image: '/etc/hostname' }),
        task(2, 'text-generation', { text: 'still runs' }),
      ],
      cwd,
    );
    for (const result of results.slice(0, 2)) {
      assert.equal(result.status, 'failed');
      assert.equal(result.error!.code, 'input');
      assert.match(result.error!.message, /^refused: .* is outside the working directory/);
    }
    assert.equal(results[2]!.status, 'succeeded');
  });
});
