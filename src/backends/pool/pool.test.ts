import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fixture, temporarySink } from '../../../test/support/expert-requests.js';
import { ended, isRunning, runningChildren } from '../../../test/support/processes.js';
import { CancelledError, NoSuchModelError, TimeoutError } from '../../core/errors.js';
import type { ResolvedInputs } from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';
import { executePlan } from '../../execute/scheduler.js';
import { encodeWav, parseWav } from '../../media/wav.js';
import { createLocalBackend } from '../local/index.js';
import { createPooledBackend, ExpertPool, type PoolStats } from './index.js';

const scratch = await mkdtemp(join(tmpdir(), 'jarvis-pool-'));
after(() => rm(scratch, { recursive: true, force: true }));

const image = (name: string): ResolvedInputs => ({
  image: { path: fixture('images', name), mimeType: 'image/jpeg' },
});

function job(
  pool: ExpertPool,
  task: TaskName,
  modelId: string,
  inputs: ResolvedInputs,
  extra: { signal?: AbortSignal; onProgress?: (message: string) => void } = {},
) {
  const artifacts = temporarySink();
  const output = pool.run({
    backend: { kind: 'local' },
    request: { task, modelId, inputs },
    artifacts,
    signal: extra.signal ?? new AbortController().signal,
    ...(extra.onProgress ? { onProgress: extra.onProgress } : {}),
  });
  return { output, artifacts };
}

/** 20,000 characters of prose: NER's largest input, several seconds of compromise's time on one core. */
const LONG_TEXT = Array.from(
  { length: 400 },
  (_, index) =>
    `In ${1800 + (index % 200)} Ada Lovelace wrote to Charles Babbage from London about the engine ${index}.`,
)
  .join(' ')
  .slice(0, 20_000);

/** CPU time this process used (all threads together) over `ms`. */
async function cpuMsOver(ms: number): Promise<number> {
  const start = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const warmOn = (stats: PoolStats, key: string) => stats.workers.filter((worker) => worker.warm.includes(key));

describe('expert worker pool', () => {
  test('three detections run at once on separate worker threads, and their annotated images reach the run folder', async () => {
    const pool = new ExpertPool({ size: 2 });
    try {
      const jobs = ['a.jpg', 'b.jpg', 'c.jpg'].map((name) =>
        job(pool, 'object-detection', 'human-centernet', image(name)),
      );
      const outputs = await Promise.all(jobs.map((entry) => entry.output));
      assert.deepEqual(
        outputs.map((output) => /zebra/.test(output.text ?? '')),
        [false, true, true],
      );
      for (const [index, output] of outputs.entries()) {
        const artifact = output.artifacts?.[0];
        assert.ok(artifact, 'an annotated image');
        assert.equal(
          artifact.path,
          jobs[index]?.artifacts.written[0]?.path,
          "written by the main thread's sink",
        );
        const bytes = await readFile(artifact.path);
        assert.ok(bytes.length > 1000, 'a whole image file');
      }
      const stats = pool.stats();
      assert.equal(stats.started, 2, 'both threads of the pool were used');
      assert.equal(warmOn(stats, 'local:human-centernet').length, 2, 'each thread keeps the detector loaded');
    } finally {
      await pool.close();
    }
  });

  test('a task goes to a worker that has its model loaded already', async () => {
    const pool = new ExpertPool({ size: 2 });
    try {
      const text = { text: 'Ada Lovelace met Charles Babbage in London. What a lovely day.' };
      await job(pool, 'token-classification', 'compromise-ner', text).output;
      await job(pool, 'text-classification', 'wink-sentiment', text).output;
      const again = await job(pool, 'token-classification', 'compromise-ner', text).output;
      assert.match(again.text ?? '', /Ada Lovelace/);
      const stats = pool.stats();
      assert.equal(warmOn(stats, 'local:compromise-ner').length, 1, 'NER was loaded once, in one worker');
      assert.equal(warmOn(stats, 'local:wink-sentiment').length, 1);
      assert.ok(!stats.workers.some((worker) => worker.warm.length > 1), JSON.stringify(stats.workers));
    } finally {
      await pool.close();
    }
  });

  test("an expert's error arrives as the same error class, so the scheduler can fall back on it", async () => {
    const pool = new ExpertPool({ size: 1 });
    try {
      await assert.rejects(
        job(pool, 'object-detection', 'no-such-detector', image('a.jpg')).output,
        (error) => {
          assert.ok(error instanceof NoSuchModelError, String(error));
          assert.match(error.message, /Available: human-centernet/);
          return true;
        },
      );
    } finally {
      await pool.close();
    }
  });

  test('cancelling a running task terminates its worker thread: the CPU goes quiet and the next task runs on a fresh worker', async () => {
    const pool = new ExpertPool({ size: 1 });
    try {
      await job(pool, 'token-classification', 'compromise-ner', { text: 'Ada Lovelace.' }).output;
      const [first] = pool.stats().workers;
      assert.ok(first);
      const controller = new AbortController();
      const running = job(
        pool,
        'token-classification',
        'compromise-ner',
        { text: LONG_TEXT },
        { signal: controller.signal },
      );
      await new Promise((resolve) => setTimeout(resolve, 150));
      controller.abort(new CancelledError('The task'));
      await assert.rejects(
        running.output,
        CancelledError,
        'the task ends with the cancellation, not a result',
      );
      const stats = pool.stats();
      assert.equal(stats.terminated, 1);
      assert.ok(!stats.workers.some((worker) => worker.threadId === first.threadId), 'the thread is gone');
      // The runaway NER would keep a core busy for seconds; a terminated thread uses nothing.
      const cpuMs = await cpuMsOver(500);
      assert.ok(
        cpuMs < 150,
        `the process used ${cpuMs.toFixed(0)} ms of CPU in 500 ms after the cancellation`,
      );
      const next = await job(pool, 'token-classification', 'compromise-ner', {
        text: 'Grace Hopper lived in New York.',
      }).output;
      assert.match(next.text ?? '', /Grace Hopper/);
      assert.equal(pool.stats().started, 2, 'a fresh worker took the next task');
    } finally {
      await pool.close();
    }
  });

  test('a task that times out in the scheduler stops its expert the same way', async () => {
    const pool = new ExpertPool({ size: 1 });
    const local = createPooledBackend(createLocalBackend(), { pool, spec: { kind: 'local' } });
    try {
      const cwd = join(scratch, 'timeout');
      const results = await executePlan({
        plan: [{ id: 0, task: 'token-classification', dep: [-1], args: { text: LONG_TEXT } }],
        choices: new Map([
          [0, { taskId: 0, modelId: 'compromise-ner', backend: 'local', reason: 'test', candidates: [] }],
        ]),
        backends: new Map([['local', local]]),
        inputs: {
          cwd,
          allowedFiles: [],
          allowedDirs: [],
          allowPrivateUrls: false,
          maxDownloadBytes: 1_000,
          urlTimeoutMs: 1_000,
        },
        outputDir: join(cwd, 'out'),
        concurrency: 1,
        taskTimeoutMs: 300,
      });
      assert.equal(results[0]?.status, 'failed');
      assert.equal(results[0]?.error?.code, new TimeoutError('x', 1).code);
      // The worker may still be loading the model when the timeout strikes: either way it was terminated.
      assert.equal(pool.stats().terminated, 1);
      assert.equal(pool.stats().workers.length, 0);
    } finally {
      await local.close?.();
      await pool.close();
    }
  });

  test('a worker that runs out of memory fails its task with a clear error, and a fresh worker takes the next one', async () => {
    // 20 MB of heap holds a worker and the local backend, not compromise's lexicon and wink's model together
    // (a date in the text makes NER load both).
    const pool = new ExpertPool({ size: 1, resourceLimits: { maxOldGenerationSizeMb: 20 } });
    try {
      const text = { text: 'Ada Lovelace met Charles Babbage in London on 5 June 1833.' };
      await assert.rejects(
        job(pool, 'token-classification', 'compromise-ner', text).output,
        /expert worker thread ran out of memory \(limit 20 MB\) while running compromise-ner/,
      );
      // The next task reaches a fresh worker, whose backend answers it (here: that no such model exists).
      await assert.rejects(
        job(pool, 'token-classification', 'no-such-tagger', text).output,
        NoSuchModelError,
      );
      const stats = pool.stats();
      assert.equal(stats.crashed, 1);
      assert.equal(stats.started, 2);
    } finally {
      await pool.close();
    }
  });

  test('close() ends every worker at once and fails the tasks still running or waiting', async () => {
    const pool = new ExpertPool({ size: 1 });
    const running = job(pool, 'token-classification', 'compromise-ner', { text: LONG_TEXT }).output;
    const waiting = job(pool, 'text-classification', 'wink-sentiment', { text: 'fine' }).output;
    const failures = Promise.all([
      assert.rejects(running, /pool was closed/),
      assert.rejects(waiting, /pool was closed before the task ran/),
    ]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await pool.close();
    await failures;
    assert.equal(pool.stats().workers.length, 0);
    await assert.rejects(
      job(pool, 'text-classification', 'wink-sentiment', { text: 'fine' }).output,
      /closed/,
    );
  });
});

const asr = (await createLocalBackend().listModels('automatic-speech-recognition'))[0];

describe('expert worker pool and the programs experts start', {
  skip: asr?.available ? false : asr?.reason,
}, () => {
  test('closing the pool just as speech recognition starts its decoder leaves no decoder behind', async () => {
    // The decoder is announced by a message from its worker; a worker ended before that message arrived used to
    // leave the decoder running, waiting on pipes nobody held. Closing at several moments catches that window.
    const path = fixture('audio', 'sense_and_sensibility_01_austen_64kb-0880.wav');
    for (const delayMs of [0, 2, 5, 10, 20, 40, 80]) {
      const pool = new ExpertPool({ size: 1 });
      const running = job(
        pool,
        'automatic-speech-recognition',
        'pocketsphinx-en-us',
        {
          audio: { path, mimeType: 'audio/wav' },
        },
        {
          onProgress: (message) => {
            if (message.startsWith('recognizing')) setTimeout(() => void pool.close(), delayMs);
          },
        },
      );
      await assert.rejects(running.output, /closed/);
      await pool.close();
    }
    for (let tries = 0; tries < 40 && runningChildren('pocketsphinx').length > 0; tries++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(runningChildren('pocketsphinx'), []);
  });

  test('cancelling speech recognition kills the pocketsphinx process its worker started', async () => {
    // Four minutes of real speech: the fixture clips end to end, decoded for about a minute.
    const clips = ['0870', '0880', '0890', '0920', '0930'].map((id) =>
      parseWav(readFileSync(fixture('audio', `sense_and_sensibility_01_austen_64kb-${id}.wav`))),
    );
    const samples: number[] = [];
    while (samples.length < 16_000 * 240) for (const clip of clips) samples.push(...clip.samples);
    const path = join(scratch, 'long-speech.wav');
    await writeFile(
      path,
      encodeWav({ samples: Float32Array.from(samples.slice(0, 16_000 * 240)), sampleRate: 16_000 }),
    );

    const pool = new ExpertPool({ size: 1 });
    try {
      const controller = new AbortController();
      let recognizing: () => void = () => {};
      const started = new Promise<void>((resolve) => (recognizing = resolve));
      const running = job(
        pool,
        'automatic-speech-recognition',
        'pocketsphinx-en-us',
        { audio: { path, mimeType: 'audio/wav' } },
        {
          signal: controller.signal,
          onProgress: (message) => message.startsWith('recognizing') && recognizing(),
        },
      );
      // Failing before the cancel, the test closes the pool in `finally`: the job's rejection is then expected.
      running.output.catch(() => {});
      await started;
      // The worker announces every program it starts: mkfifo too, briefly, before the decoder.
      const isDecoder = (pid: number) => {
        if (process.platform !== 'linux') return true;
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('pocketsphinx_batch');
        } catch {
          return false;
        }
      };
      let children: number[] = [];
      for (let tries = 0; tries < 100 && children.length === 0; tries++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        children = pool
          .stats()
          .workers.flatMap((worker) => worker.children)
          .filter(isDecoder);
      }
      assert.equal(children.length, 1, 'the decoder process runs');
      const [pid] = children as [number];
      assert.ok(isRunning(pid));
      controller.abort(new CancelledError('The task'));
      await assert.rejects(running.output, CancelledError);
      assert.ok(await ended(pid), `pocketsphinx (pid ${pid}) was killed with its worker`);
    } finally {
      await pool.close();
    }
  });
});

describe('transformers.js in the worker pool', () => {
  test('a tiny ONNX detector runs in a worker: the same detections, and its drawn image written by the main thread', async () => {
    const { writeTinyModels, TINY_MODELS } = await import('../../../scripts/make-tiny-onnx.js');
    const { createTransformersBackend } = await import('../transformers/index.js');
    const sharp = (await import('sharp')).default;
    const modelsDir = join(scratch, 'models');
    writeTinyModels(modelsDir);
    const red = join(scratch, 'red.png');
    await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 230, g: 10, b: 10 } } })
      .png()
      .toFile(red);
    const options = {
      modelsDir,
      cacheDir: join(scratch, 'empty-cache'),
      offline: true,
      pythonHubCache: false as const,
    };
    const pool = new ExpertPool({ size: 1 });
    const transformers = createPooledBackend(createTransformersBackend(options), {
      pool,
      spec: { kind: 'transformers', options },
    });
    try {
      const artifacts = temporarySink();
      const output = await transformers.infer({
        task: 'object-detection',
        modelId: TINY_MODELS.objectDetector,
        inputs: { image: { path: red, mimeType: 'image/png' } },
        artifacts,
        signal: new AbortController().signal,
      });
      assert.equal(output.text, '1 red');
      assert.equal(output.artifacts?.[0]?.path, artifacts.written[0]?.path);
      const drawn = await sharp(artifacts.written[0]?.path ?? '').metadata();
      assert.deepEqual([drawn.format, drawn.width, drawn.height], ['jpeg', 64, 48]);
      assert.deepEqual(pool.stats().workers[0]?.warm, [`transformers:${TINY_MODELS.objectDetector}`]);
      const cards = await transformers.listModels('object-detection');
      assert.ok(
        cards.some((card) => card.id === TINY_MODELS.objectDetector && card.available),
        'listed here',
      );
    } finally {
      await transformers.close?.();
      await pool.close();
    }
  });
});

describe('backends from the configuration', () => {
  test('local experts run in the shared pool, which closes with the last backend using it', async () => {
    const { createBackends } = await import('../registry.js');
    const { configSchema } = await import('../../config/schema.js');
    const config = configSchema.parse({ experts: { workers: 1 }, inference: { offline: true } });
    const backends = createBackends({ config, controller: undefined });
    const local = backends.find((backend) => backend.id === 'local');
    assert.ok(local);
    const ner = () =>
      local.infer({
        task: 'token-classification',
        modelId: 'compromise-ner',
        inputs: { text: 'Ada Lovelace met Charles Babbage in London.' },
        artifacts: temporarySink(),
        signal: new AbortController().signal,
      });
    assert.match((await ner()).text ?? '', /Ada Lovelace/);
    await Promise.all(backends.map((backend) => backend.close?.()));
    await assert.rejects(ner(), /expert worker pool is closed/);
  });

  test('experts.workers 0 runs the experts in the calling thread', async () => {
    const { createBackends } = await import('../registry.js');
    const { configSchema } = await import('../../config/schema.js');
    const config = configSchema.parse({ experts: { workers: 0 }, inference: { offline: true } });
    const backends = createBackends({ config, controller: undefined });
    const local = backends.find((backend) => backend.id === 'local');
    assert.ok(local);
    await Promise.all(backends.map((backend) => backend.close?.()));
    // Closed or not, an in-thread backend still runs: there is no pool to close.
    const output = await local.infer({
      task: 'text-classification',
      modelId: 'wink-sentiment',
      inputs: { text: 'What a lovely day.' },
      artifacts: temporarySink(),
      signal: new AbortController().signal,
    });
    assert.match(output.text ?? '', /POSITIVE/);
  });
});
