/**
 * Expert benchmark. By default, in one run, side by side (median of RUNS runs, min-max spread):
 *   1. Jarvis vs the bare library call, per expert, warm: what Jarvis adds around the model (reading the
 *      input, drawing and encoding the overlay, writing the artifact, and through the worker pool the
 *      messages between threads); for detection each image bare and through Jarvis back to back, in wall
 *      time and in the process's CPU time (which a busy machine stretches less);
 *   2. three detections of one plan in the worker pool, in parallel vs one after another;
 *   3. speech recognition, every recognizer: warm (model resident) vs cold (model loaded on the call), and
 *      the word error rate on every fixture clip;
 *   4. NER cold start: a fresh process's first NER call, model loading included, on names only (compromise)
 *      and on a sentence with a date (compromise and wink-nlp);
 *   5. the main event loop's delay (p99 and max, perf_hooks.monitorEventLoopDelay) while experts run in the
 *      pool vs on the main thread, and with nothing running (the machine's own noise). Measured first, with
 *      the main thread at normal priority and the workers below it, as Jarvis runs; for 1-4 the main thread
 *      then drops to the workers' priority so that the computing times compare like with like.
 * `--table` prints instead the older per-expert table: each expert in a fresh process, cold time, warm
 * median and max over the fixtures, peak RSS, and word error rates of speech recognition and synthesis.
 *
 *   npm run bench:experts                      the comparisons (RUNS=5 by default: BENCH_RUNS=9 for more)
 *   npm run bench:experts -- --table           the per-expert table
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, constants, loadavg, setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalBackend } from '../src/backends/local/index.js';
import { wordErrorRate } from '../src/backends/local/support/word-error-rate.js';
import type { InferenceRequest } from '../src/core/backend.js';
import type { Artifact, ResolvedInputs } from '../src/core/output.js';
import { procCpuMs } from '../src/core/processes.js';
import type { TaskName } from '../src/core/tasks.js';
import { loopDelayMs } from '../src/server/metrics.js';
import { audiobookClips, FIXTURES } from '../test/support/fixtures.js';
import { median } from './stats.js';
import { formatTable } from './table.js';

const image = (name: string): ResolvedInputs => ({
  image: {
    path: join(FIXTURES, 'images', name),
    mimeType: name.endsWith('.png') ? 'image/png' : 'image/jpeg',
  },
});
const audio = (name: string): ResolvedInputs => ({
  audio: { path: join(FIXTURES, 'audio', name), mimeType: 'audio/wav' },
});

const SENTENCES = [
  'Please read this document aloud and tell me the weather in Paris tomorrow.',
  'The quick brown fox jumps over the lazy dog.',
  'How many zebras are there in these three pictures?',
  'Generate a pose image of the basketball player and describe what he is doing.',
  'Barack Obama met Angela Merkel in Berlin to talk about the United Nations.',
];

const AUDIO = audiobookClips();

interface Case {
  task: TaskName;
  inputs: ResolvedInputs[];
}

const CASES: Record<string, Case> = {
  'compromise-ner': { task: 'token-classification', inputs: SENTENCES.map((text) => ({ text })) },
  'wink-sentiment': {
    task: 'text-classification',
    inputs: ['I love this phone.', 'This movie is not good.', 'The meeting is on the third floor.'].map(
      (text) => ({ text }),
    ),
  },
  'human-centernet': {
    task: 'object-detection',
    inputs: [
      'a.jpg',
      'b.jpg',
      'c.jpg',
      'd.jpg',
      'e.jpg',
      'f.jpg',
      'g.jpg',
      'giraffe.jpg',
      'horses.jpg',
      'messi5.jpg',
    ].map(image),
  },
  'human-movenet': {
    task: 'openpose-control',
    inputs: ['d.jpg', 'e.jpg', 'g.jpg', 'messi5.jpg', 'astronaut.png'].map(image),
  },
  'human-selfie': {
    task: 'image-segmentation',
    inputs: ['astronaut.png', 'messi5.jpg', 'd.jpg', 'e.jpg'].map(image),
  },
  'opencv-canny': {
    task: 'canny-control',
    inputs: ['e.jpg', 'f.jpg', 'messi5.jpg', 'astronaut.png'].map(image),
  },
  'opencv-hough-lines': { task: 'mlsd-control', inputs: ['a.jpg', 'e.jpg', 'g.jpg', 'page.png'].map(image) },
  'tesseract-ocr': { task: 'image-to-text', inputs: ['page.png', 'text-paragraph.png'].map(image) },
  flite: { task: 'text-to-speech', inputs: SENTENCES.map((text) => ({ text })) },
  'flite-wasm': { task: 'text-to-speech', inputs: SENTENCES.map((text) => ({ text })) },
  'moonshine-tiny': {
    task: 'automatic-speech-recognition',
    inputs: AUDIO.map(({ file }) => audio(file)),
  },
  'pocketsphinx-en-us': {
    task: 'automatic-speech-recognition',
    inputs: AUDIO.map(({ file }) => audio(file)),
  },
};

interface ExpertResult {
  id: string;
  available: boolean;
  reason?: string;
  coldMs?: number;
  warmMedianMs?: number;
  warmMaxMs?: number;
  inputs?: number;
  peakRssMb?: number;
  extra?: string;
}

function sink(dir: string) {
  let counter = 0;
  return {
    async write(file: { kind: Artifact['kind']; bytes: Uint8Array; mimeType: string; extension: string }) {
      const path = join(dir, `out-${++counter}.${file.extension}`);
      await writeFile(path, file.bytes);
      return { kind: file.kind, path, mimeType: file.mimeType };
    },
  };
}

async function measure(id: string): Promise<ExpertResult> {
  const spec = CASES[id];
  if (!spec) throw new Error(`no benchmark case for ${id}`);
  const backend = createLocalBackend();
  const card = (await backend.listModels(spec.task)).find((candidate) => candidate.id === id);
  if (!card?.available) return { id, available: false, reason: card?.reason ?? 'not registered' };
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-bench-'));
  const call = async (inputs: ResolvedInputs) => {
    const request: InferenceRequest = {
      task: spec.task,
      modelId: id,
      inputs,
      artifacts: sink(dir),
      signal: new AbortController().signal,
    };
    const started = performance.now();
    const output = await backend.infer(request);
    return { ms: performance.now() - started, output };
  };
  try {
    const first = spec.inputs[0] as ResolvedInputs;
    const cold = await call(first);
    const warm: number[] = [];
    let extra: string | undefined;
    const transcripts: string[] = [];
    for (const inputs of spec.inputs) {
      const { ms, output } = await call(inputs);
      warm.push(ms);
      transcripts.push(output.text ?? '');
    }
    if (spec.task === 'automatic-speech-recognition') {
      let errors = 0;
      let words = 0;
      AUDIO.forEach(({ reference }, index) => {
        const result = wordErrorRate(reference, transcripts[index] ?? '');
        errors += result.errors;
        words += result.words;
      });
      extra = `WER ${((errors / words) * 100).toFixed(1)}% on ${AUDIO.length} real utterances (${words} words)`;
    }
    if (id === 'flite' || id === 'flite-wasm') extra = await roundTrip(backend, id, dir);
    warm.sort((a, b) => a - b);
    await backend.close?.();
    return {
      id,
      available: true,
      coldMs: cold.ms,
      warmMedianMs: warm[Math.floor(warm.length / 2)] ?? 0,
      warmMaxMs: warm[warm.length - 1] ?? 0,
      inputs: warm.length,
      peakRssMb: process.resourceUsage().maxRSS / 1024,
      ...(extra === undefined ? {} : { extra }),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each sentence spoken, then recognized: the synthesizer's intelligibility as a word error rate. */
async function roundTrip(
  backend: ReturnType<typeof createLocalBackend>,
  id: string,
  dir: string,
): Promise<string> {
  const [asr] = await backend.listModels('automatic-speech-recognition');
  if (!asr?.available) return 'round trip: no recognizer';
  let errors = 0;
  let words = 0;
  for (const text of SENTENCES) {
    const signal = new AbortController().signal;
    const speech = await backend.infer({
      task: 'text-to-speech',
      modelId: id,
      inputs: { text },
      artifacts: sink(dir),
      signal,
    });
    const path = speech.artifacts?.[0]?.path as string;
    const heard = await backend.infer({
      task: 'automatic-speech-recognition',
      modelId: asr.id,
      inputs: { audio: { path, mimeType: 'audio/wav' } },
      artifacts: sink(dir),
      signal,
    });
    const result = wordErrorRate(text, heard.text ?? '');
    errors += result.errors;
    words += result.words;
  }
  return `round trip through ${asr.id}: WER ${((errors / words) * 100).toFixed(1)}% (${words} words)`;
}

const fmt = (value: number | undefined, digits = 0) => (value === undefined ? '-' : value.toFixed(digits));

async function perExpertTable(): Promise<void> {
  const results: ExpertResult[] = [];
  for (const id of Object.keys(CASES)) {
    // A fresh process per expert: cold times include module and model loading, and max RSS is its own.
    const child = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), id], {
      encoding: 'utf8',
      maxBuffer: 16 * 1024 * 1024,
    });
    const line = child.stdout.trim().split('\n').pop() ?? '';
    try {
      results.push(JSON.parse(line) as ExpertResult);
    } catch {
      results.push({
        id,
        available: false,
        reason: `benchmark failed: ${child.stderr.trim().split('\n').pop()}`,
      });
    }
    const last = results[results.length - 1] as ExpertResult;
    console.error(`${id}: ${last.available ? `${fmt(last.warmMedianMs)} ms warm` : last.reason}`);
  }
  console.log('| expert | cold (ms) | warm median (ms) | warm max (ms) | inputs | peak RSS (MB) | quality |');
  console.log('|---|---:|---:|---:|---:|---:|---|');
  for (const result of results) {
    if (!result.available) {
      console.log(`| ${result.id} | - | - | - | - | - | unavailable: ${result.reason} |`);
      continue;
    }
    console.log(
      `| ${result.id} | ${fmt(result.coldMs)} | ${fmt(result.warmMedianMs, 1)} | ${fmt(result.warmMaxMs, 1)} | ` +
        `${result.inputs} | ${fmt(result.peakRssMb)} | ${result.extra ?? ''} |`,
    );
  }
}

// ---------------------------------------------------------------------------------------------------------
// Side-by-side comparisons in one run.

const RUNS = Math.max(5, Number(process.env.BENCH_RUNS) || 5);

interface Spread {
  median: number;
  min: number;
  max: number;
}

function spread(values: number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

const ms = (value: Spread, digits = 0) =>
  `${value.median.toFixed(digits)} ms (${value.min.toFixed(digits)}-${value.max.toFixed(digits)})`;
const ratio = (value: Spread) =>
  `${value.median.toFixed(2)} (${value.min.toFixed(2)}-${value.max.toFixed(2)})`;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await work();
  return performance.now() - started;
}

function request(task: TaskName, modelId: string, inputs: ResolvedInputs, dir: string): InferenceRequest {
  return { task, modelId, inputs, artifacts: sink(dir), signal: new AbortController().signal };
}

/** 20,000 characters of prose, NER's largest input. */
const LONG_TEXT = Array.from(
  { length: 400 },
  (_, index) =>
    `In ${1800 + (index % 200)} Ada Lovelace wrote to Charles Babbage from London about engine ${index}.`,
)
  .join(' ')
  .slice(0, 20_000);

interface Row {
  figure: string;
  value: string;
  includes: string;
}

async function comparisons(): Promise<void> {
  const { ExpertPool, createPooledBackend, defaultPoolSize } = await import('../src/backends/pool/index.js');
  const { centernet } = await import('../src/backends/local/support/human-models.js');
  const { decodeImage } = await import('../src/backends/local/support/image.js');
  const { findEntities } = await import('../src/backends/local/experts/compromise-ner.js');
  const { analyzeSentiment } = await import('../src/backends/local/experts/wink-sentiment.js');
  const { monitorEventLoopDelay } = await import('node:perf_hooks');
  /** The histogram's timer interval (ms), taken off its readings: see loopDelayMs. */
  const LOOP_RESOLUTION_MS = 5;
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-bench-'));
  const rows: Row[] = [];
  const ratios: Row[] = [];
  const say = (line: string) => console.error(line);
  const mainThread = createLocalBackend();
  const pool = new ExpertPool({ size: Number(process.env.BENCH_POOL_SIZE) || defaultPoolSize() });
  const pooled = createPooledBackend(createLocalBackend(), { pool, spec: { kind: 'local' } });
  const images = ['a.jpg', 'b.jpg', 'c.jpg'];
  const detect = (backend: typeof mainThread, name: string) =>
    backend.infer(request('object-detection', 'human-centernet', image(name), dir));
  try {
    // Warm everything first: these figures are about warm calls.
    say(`warming up: detector on the main thread and in the ${pool.size} workers, NER, sentiment ...`);
    for (const name of images) await detect(mainThread, name);
    await Promise.all(images.map((name) => detect(pooled, name)));
    await Promise.all(images.map((name) => detect(pooled, name)));
    const text = SENTENCES[4] as string;
    await mainThread.infer(request('token-classification', 'compromise-ner', { text }, dir));
    await mainThread.infer(request('text-classification', 'wink-sentiment', { text }, dir));
    // Every worker loads both text models: as many calls at once as workers.
    for (const [task, modelId] of [
      ['token-classification', 'compromise-ner'],
      ['text-classification', 'wink-sentiment'],
    ] as const) {
      const all = Array.from({ length: pool.size }, () => 0);
      await Promise.all(all.map(() => pooled.infer(request(task, modelId, { text }, dir))));
      await Promise.all(all.map(() => pooled.infer(request(task, modelId, { text }, dir))));
    }

    // 5. The main event loop while experts run: in the pool vs on the main thread.
    say('5. event-loop delay while experts run ...');
    const workload = (backend: typeof mainThread) =>
      Promise.all([
        ...images.map((name) => detect(backend, name)),
        backend.infer(request('token-classification', 'compromise-ner', { text: LONG_TEXT }, dir)),
        backend.infer(request('text-classification', 'wink-sentiment', { text: LONG_TEXT }, dir)),
      ]);
    const delay = {
      pool: { p99: [] as number[], max: [] as number[] },
      main: { p99: [] as number[], max: [] as number[] },
      idle: { p99: [] as number[], max: [] as number[] },
    };
    for (let run = 0; run < RUNS; run++) {
      let poolMs = 1_000;
      for (const [mode, work] of [
        ['pool', () => workload(pooled)],
        ['main', () => workload(mainThread)],
        // What this machine's scheduler alone does to a timer over as long, with no expert running.
        ['idle', () => new Promise((resolve) => setTimeout(resolve, poolMs))],
      ] as const) {
        const histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
        histogram.enable();
        const took = await timed(work);
        if (mode === 'pool') poolMs = took;
        histogram.disable();
        delay[mode].p99.push(loopDelayMs(histogram.percentile(99), LOOP_RESOLUTION_MS));
        delay[mode].max.push(loopDelayMs(histogram.max, LOOP_RESOLUTION_MS));
      }
    }
    rows.push(
      {
        figure: 'event-loop delay p99, experts in the pool',
        value: ms(spread(delay.pool.p99), 1),
        includes: '3 detections + NER and sentiment on 20,000 characters, at once',
      },
      {
        figure: 'event-loop delay max, experts in the pool',
        value: ms(spread(delay.pool.max), 1),
        includes: '',
      },
      {
        figure: 'event-loop delay p99, experts on the main thread',
        value: ms(spread(delay.main.p99), 1),
        includes: 'the same workload',
      },
      {
        figure: 'event-loop delay max, experts on the main thread',
        value: ms(spread(delay.main.max), 1),
        includes: '',
      },
      {
        figure: 'event-loop delay p99, nothing running',
        value: ms(spread(delay.idle.p99), 1),
        includes: "a timer alone, as long as the pool's workload: this machine's own noise",
      },
      { figure: 'event-loop delay max, nothing running', value: ms(spread(delay.idle.max), 1), includes: '' },
    );
    ratios.push({
      figure: 'event-loop delay p99: pool / main thread',
      value: ratio(spread(delay.pool.p99.map((value, index) => value / (delay.main.p99[index] ?? 1)))),
      includes: 'issue 10: p99 under 20 ms',
    });

    // From here on the figures compare computing times: the main thread gets the workers' priority (they run
    // below normal, to leave the event loop the CPU), so that a bare call on it and a worker compete alike
    // with the rest of the machine.
    try {
      setPriority(0, constants.priority.PRIORITY_BELOW_NORMAL);
    } catch {
      // not allowed here: the main thread keeps its priority
    }

    // 1. Jarvis vs the bare call, per image, warm: each image is measured bare, on the main thread and in the
    // pool back to back (the order turns each run, so that neither side always follows the other), and each
    // ratio compares calls made within a second of each other. Beside wall time, the process's CPU time (all
    // its threads, libvips' included): what each call computed, which a busy machine stretches far less.
    say('1. detection: Jarvis vs the bare model call ...');
    const bare: number[] = [];
    const inProcess: number[] = [];
    const viaPool: number[] = [];
    const poolRatio: number[] = [];
    const mainRatio: number[] = [];
    const poolCpuRatio: number[] = [];
    const bareCpu: number[] = [];
    const poolCpu: number[] = [];
    const withCpu = async (work: () => Promise<unknown>) => {
      const cpu = process.cpuUsage();
      const wall = await timed(work);
      const used = process.cpuUsage(cpu);
      return { wall, cpu: (used.user + used.system) / 1000 };
    };
    for (let run = 0; run < RUNS; run++) {
      for (const name of images) {
        const path = (image(name).image as { path: string }).path;
        const calls = {
          bare: () => withCpu(async () => centernet.detect(await decodeImage(path))),
          main: () => withCpu(() => detect(mainThread, name)),
          pool: () => withCpu(() => detect(pooled, name)),
        };
        const order = (['bare', 'main', 'pool'] as const).map(
          (_, index, all) => all[(index + run) % all.length] as keyof typeof calls,
        );
        const took: Partial<Record<keyof typeof calls, { wall: number; cpu: number }>> = {};
        for (const which of order) took[which] = await calls[which]();
        const {
          bare: b,
          main: m,
          pool: p,
        } = took as Record<keyof typeof calls, { wall: number; cpu: number }>;
        bare.push(b.wall);
        inProcess.push(m.wall);
        viaPool.push(p.wall);
        bareCpu.push(b.cpu);
        poolCpu.push(p.cpu);
        mainRatio.push(m.wall / b.wall);
        poolRatio.push(p.wall / b.wall);
        poolCpuRatio.push(p.cpu / b.cpu);
      }
    }
    rows.push(
      {
        figure: 'detection, bare call per image',
        value: ms(spread(bare)),
        includes: `${images.join(', ')}: decode the file to RGB (<= 1280 px) + centernet on tfjs-wasm, main thread`,
      },
      {
        figure: 'detection, Jarvis on the main thread',
        value: ms(spread(inProcess)),
        includes: 'the bare call + boxes drawn into the pixels, JPEG encoded, artifact written',
      },
      {
        figure: 'detection, Jarvis in the worker pool',
        value: ms(spread(viaPool)),
        includes: 'the same in a worker + request, JPEG bytes (copied) and result as messages',
      },
      {
        figure: 'detection, CPU time: bare / Jarvis in the pool',
        value: `${spread(bareCpu).median.toFixed(0)} / ${spread(poolCpu).median.toFixed(0)} ms`,
        includes: "the process's CPU time during each call, every thread",
      },
    );
    ratios.push(
      {
        figure: 'detection: Jarvis (pool) / bare, wall',
        value: ratio(spread(poolRatio)),
        includes: `target <= 1.15; ${poolRatio.length} back-to-back pairs (${RUNS} runs x ${images.length} images)`,
      },
      {
        figure: 'detection: Jarvis (pool) / bare, CPU',
        value: ratio(spread(poolCpuRatio)),
        includes: 'the same pairs in CPU time: what a busy machine stretches less',
      },
      {
        figure: 'detection: Jarvis (main thread) / bare, wall',
        value: ratio(spread(mainRatio)),
        includes: '',
      },
    );

    say('1. NER and sentiment: Jarvis vs the bare call ...');
    for (const [label, bareCall, jarvisCall] of [
      [
        'NER (5 sentences)',
        () => Promise.all(SENTENCES.map((sentence) => findEntities(sentence))),
        () =>
          Promise.all(
            SENTENCES.map((sentence) =>
              pooled.infer(request('token-classification', 'compromise-ner', { text: sentence }, dir)),
            ),
          ),
      ],
      [
        'sentiment (5 sentences)',
        () => Promise.all(SENTENCES.map((sentence) => analyzeSentiment(sentence))),
        () =>
          Promise.all(
            SENTENCES.map((sentence) =>
              pooled.infer(request('text-classification', 'wink-sentiment', { text: sentence }, dir)),
            ),
          ),
      ],
    ] as const) {
      const bareTimes: number[] = [];
      const jarvisTimes: number[] = [];
      for (let run = 0; run < RUNS; run++) {
        bareTimes.push(await timed(bareCall));
        jarvisTimes.push(await timed(jarvisCall));
      }
      rows.push(
        {
          figure: `${label}, bare call`,
          value: ms(spread(bareTimes), 1),
          includes: 'library calls, main thread',
        },
        {
          figure: `${label}, Jarvis in the pool`,
          value: ms(spread(jarvisTimes), 1),
          includes: 'the same in the workers + messages',
        },
      );
    }

    // 2. Three detections of one plan: in parallel in the pool vs one after another.
    say('2. three detections: parallel vs serial ...');
    const parallel: number[] = [];
    const serial: number[] = [];
    const mainParallel: number[] = [];
    const parallelRatio: number[] = [];
    // Cores this process got while it ran (CPU time / wall time): on a busy machine the parallel run cannot
    // be faster than the share of the cores the machine gives it, and this says what that share was.
    const coresSerial: number[] = [];
    const coresParallel: number[] = [];
    const cores = async (work: () => Promise<unknown>, into: number[]) => {
      const cpu = process.cpuUsage();
      const wall = await timed(work);
      const used = process.cpuUsage(cpu);
      into.push((used.user + used.system) / 1000 / wall);
      return wall;
    };
    for (let run = 0; run < RUNS; run++) {
      const s = await cores(async () => {
        for (const name of images) await detect(pooled, name);
      }, coresSerial);
      const p = await cores(() => Promise.all(images.map((name) => detect(pooled, name))), coresParallel);
      mainParallel.push(await timed(() => Promise.all(images.map((name) => detect(mainThread, name)))));
      serial.push(s);
      parallel.push(p);
      parallelRatio.push(p / s);
    }
    rows.push(
      {
        figure: 'three detections, pool, one after another',
        value: ms(spread(serial)),
        includes: 'a.jpg, b.jpg, c.jpg, each awaited before the next',
      },
      {
        figure: 'three detections, pool, in parallel',
        value: ms(spread(parallel)),
        includes: `Promise.all over ${pool.size} workers`,
      },
      {
        figure: 'cores used: one after another / in parallel',
        value: `${spread(coresSerial).median.toFixed(2)} / ${spread(coresParallel).median.toFixed(2)}`,
        includes: 'CPU time / wall time of this process: the share of the machine the runs got',
      },
      {
        figure: 'three detections, main thread, Promise.all',
        value: ms(spread(mainParallel)),
        includes: 'as before the pool: one tfjs runtime, calls queued',
      },
    );
    ratios.push({
      figure: 'three detections: parallel / serial',
      value: ratio(spread(parallelRatio)),
      includes: `target <= 0.65 on 2 cores (this machine: ${availableParallelism()} cores)`,
    });
  } finally {
    await pooled.close?.();
    await pool.close();
  }

  // 3. Speech recognition, every recognizer: warm (model resident) vs cold (model loaded on the call).
  for (const asr of await mainThread.listModels('automatic-speech-recognition')) {
    if (!asr.available) {
      rows.push({
        figure: `speech recognition, ${asr.id}`,
        value: '-',
        includes: `unavailable: ${asr.reason}`,
      });
      continue;
    }
    say(`3. speech recognition (${asr.id}): cold vs warm ...`);
    const clip = audio(AUDIO[0]?.file ?? 'sense_and_sensibility_01_austen_64kb-0870.wav');
    const cold: number[] = [];
    const warm: number[] = [];
    const warmRatio: number[] = [];
    const coldCpu: number[] = [];
    const warmCpu: number[] = [];
    const warmCpuRatio: number[] = [];
    // CPU time of this process and of the decoder process it started, every thread: a busy machine stretches
    // it far less than wall time.
    const cpuNow = () => ({ own: process.cpuUsage(), children: childrenCpuMs() });
    // What the process and its children used between two readings: a child that started meanwhile counts
    // whole, one that ended (the decoder just stopped) not at all.
    const cpuBetween = (from: ReturnType<typeof cpuNow>, to: ReturnType<typeof cpuNow>) => {
      if (!from.children || !to.children) return undefined;
      let used = (to.own.user + to.own.system - from.own.user - from.own.system) / 1000;
      for (const [pid, ms] of to.children) used += ms - (from.children.get(pid) ?? 0);
      return used;
    };
    const recognize = (inputs: ResolvedInputs) =>
      mainThread.infer(request('automatic-speech-recognition', asr.id, inputs, dir));
    for (let run = 0; run < RUNS; run++) {
      // Closing the backend unloads the model (pocketsphinx: stops the decoder process; Moonshine: releases
      // its ONNX sessions): the next call loads it again.
      await mainThread.close?.();
      const cpuBeforeCold = cpuNow();
      const c = await timed(() => recognize(clip));
      const cpuBeforeWarm = cpuNow();
      const w = await timed(() => recognize(clip));
      const cpuAfter = cpuNow();
      cold.push(c);
      warm.push(w);
      warmRatio.push(w / c);
      const coldUsed = cpuBetween(cpuBeforeCold, cpuBeforeWarm);
      const warmUsed = cpuBetween(cpuBeforeWarm, cpuAfter);
      if (coldUsed !== undefined && warmUsed !== undefined) {
        coldCpu.push(coldUsed);
        warmCpu.push(warmUsed);
        warmCpuRatio.push(warmUsed / coldUsed);
      }
    }
    const loading =
      asr.id === 'pocketsphinx-en-us'
        ? 'pocketsphinx_batch started, model loaded'
        : 'ONNX encoder and decoder sessions created (onnxruntime-node imported by the first run)';
    rows.push(
      {
        figure: `speech recognition, ${asr.id}, cold`,
        value: ms(spread(cold)),
        includes: `${AUDIO[0]?.file ?? 'clip'} (7.1 s): WAV read to 16 kHz mono, ${loading}, decoded`,
      },
      {
        figure: `speech recognition, ${asr.id}, warm`,
        value: ms(spread(warm)),
        includes: 'the same clip: WAV read, decoded; model resident',
      },
    );
    // Word errors on every fixture clip with the resident model.
    let errors = 0;
    let words = 0;
    let seconds = 0;
    const decodeTimes: number[] = [];
    for (const { file, reference } of AUDIO) {
      let heard = '';
      decodeTimes.push(
        await timed(async () => {
          const output = await recognize(audio(file));
          heard = output.text ?? '';
          seconds += Number((output.data as { seconds?: number } | undefined)?.seconds ?? 0);
        }),
      );
      const result = wordErrorRate(reference, heard);
      errors += result.errors;
      words += result.words;
    }
    const total = decodeTimes.reduce((sum, value) => sum + value, 0);
    rows.push({
      figure: `speech recognition, ${asr.id}, warm, all fixture clips`,
      value: `${total.toFixed(0)} ms for ${seconds.toFixed(1)} s of audio (${(total / 1000 / seconds).toFixed(2)} x real time)`,
      includes: `WER ${((errors / words) * 100).toFixed(1)}% on ${AUDIO.length} real utterances (${words} words)`,
    });
    if (coldCpu.length > 0)
      rows.push({
        figure: `speech recognition, ${asr.id}, CPU time: cold / warm`,
        value: `${spread(coldCpu).median.toFixed(0)} / ${spread(warmCpu).median.toFixed(0)} ms`,
        includes: 'this process and the decoder process, every thread',
      });
    ratios.push({
      figure: `speech recognition, ${asr.id}: warm / cold`,
      value: ratio(spread(warmRatio)),
      includes: 'target <= 0.5',
    });
    if (warmCpuRatio.length > 0)
      ratios.push({
        figure: `speech recognition, ${asr.id}: warm / cold, CPU`,
        value: ratio(spread(warmCpuRatio)),
        includes: 'the same calls in CPU time: what a busy machine stretches less',
      });
  }
  await mainThread.close?.();
  rmSync(dir, { recursive: true, force: true });

  // 4. NER cold start, each in a fresh process: a sentence of names only, which compromise reads alone, and
  // one with a date, for which wink-nlp's model loads too; the two alternate.
  say('4. NER cold start in fresh processes ...');
  const firstCall = { names: [] as number[], dated: [] as number[] };
  const firstCallCpu = { names: [] as number[], dated: [] as number[] };
  for (let run = 0; run < RUNS; run++) {
    for (const kind of ['names', 'dated'] as const) {
      const child = spawnSync(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(import.meta.url), '--ner-cold', kind],
        { encoding: 'utf8' },
      );
      const result = JSON.parse(child.stdout.trim().split('\n').pop() ?? '{}') as {
        firstCallMs: number;
        firstCallCpuMs: number;
      };
      firstCall[kind].push(result.firstCallMs);
      firstCallCpu[kind].push(result.firstCallCpuMs);
    }
  }
  rows.push(
    {
      figure: 'NER cold start, first call, names only',
      value: ms(spread(firstCall.names)),
      includes: `"${NER_COLD.names}": compromise's bundled build loaded, the sentence read`,
    },
    {
      figure: 'NER cold start, first call, with a date',
      value: ms(spread(firstCall.dated)),
      includes: `"${NER_COLD.dated}": the same + wink-nlp's model loaded`,
    },
    {
      figure: 'NER cold start, CPU time: names only / with a date',
      value: `${spread(firstCallCpu.names).median.toFixed(0)} / ${spread(firstCallCpu.dated).median.toFixed(0)} ms`,
      includes:
        "the child process's CPU time during the call, every thread: what a busy machine stretches less",
    },
  );
  ratios.push(
    {
      figure: 'NER cold start (first call), names only',
      value: ms(spread(firstCall.names)),
      includes: 'target < 400 ms',
    },
    {
      figure: 'NER cold start (first call), with a date',
      value: ms(spread(firstCall.dated)),
      includes: '',
    },
  );

  console.log(
    `Experts, ${RUNS} runs each, median (min-max); ${availableParallelism()} cores, load ${loadavg()[0]?.toFixed(1)}\n`,
  );
  console.log(
    formatTable(
      ['figure', 'value', 'includes'],
      rows.map((row) => [row.figure, row.value, row.includes]),
    ),
  );
  console.log('\nRatios, side by side in this run (median of per-run ratios, min-max):\n');
  console.log(
    formatTable(
      ['ratio', 'value', 'note'],
      ratios.map((row) => [row.figure, row.value, row.includes]),
    ),
  );
}

/**
 * CPU time, in ms, of each child process this process runs now (Linux: /proc's children lists and stat
 * files), e.g. the speech decoder; undefined elsewhere.
 */
function childrenCpuMs(): Map<string, number> | undefined {
  try {
    const pids = readdirSync('/proc/self/task').flatMap((task) =>
      readFileSync(`/proc/self/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
    );
    const cpu = new Map<string, number>();
    for (const pid of pids) {
      try {
        cpu.set(pid, procCpuMs(`/proc/${pid}/stat`));
      } catch {
        // ended meanwhile
      }
    }
    return cpu;
  } catch {
    return undefined;
  }
}

const NER_COLD = {
  names: SENTENCES[4] as string,
  dated: 'Barack Obama met Angela Merkel in Berlin on 3 May 2024 to talk about the United Nations.',
};

async function nerColdStart(kind: keyof typeof NER_COLD): Promise<void> {
  const backend = createLocalBackend();
  const dir = mkdtempSync(join(tmpdir(), 'jarvis-bench-'));
  const cpu = process.cpuUsage();
  const callStarted = performance.now();
  await backend.infer(request('token-classification', 'compromise-ner', { text: NER_COLD[kind] }, dir));
  const ended = performance.now();
  const used = process.cpuUsage(cpu);
  rmSync(dir, { recursive: true, force: true });
  const firstCallCpuMs = (used.user + used.system) / 1000;
  process.stdout.write(`${JSON.stringify({ firstCallMs: ended - callStarted, firstCallCpuMs })}\n`);
}

const mode = process.argv[2];
if (mode === '--ner-cold') await nerColdStart(process.argv[3] === 'dated' ? 'dated' : 'names');
else if (mode === '--table') await perExpertTable();
else if (mode && !mode.startsWith('-')) process.stdout.write(`${JSON.stringify(await measure(mode))}\n`);
else await comparisons();
