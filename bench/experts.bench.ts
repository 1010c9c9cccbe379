/**
 * Local expert benchmark: for each offline expert, in a fresh process of its own, the cold time (first
 * call, model loading included), the warm time per input on the test fixtures (median and max), and
 * the process's peak memory (max RSS). Then the speech recognizer's word error rate on the real speech
 * in test/fixtures/audio against its `transcription`, and the text-to-speech -> recognition round
 * trip of each synthesizer.
 *
 *   node --import tsx bench/experts.bench.ts            all experts
 *   node --import tsx bench/experts.bench.ts flite  one expert (what the parent runs per process)
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLocalBackend } from '../src/backends/local/index.js';
import { wordErrorRate } from '../src/backends/local/support/word-error-rate.js';
import type { InferenceRequest } from '../src/core/backend.js';
import type { Artifact, ResolvedInputs } from '../src/core/output.js';
import type { TaskName } from '../src/core/tasks.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
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

const AUDIO = readdirAudio();

function readdirAudio(): { file: string; reference: string }[] {
  const path = join(FIXTURES, 'audio', 'transcription');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => /^<s>\s*(.*?)\s*<\/s>\s*\((.+)\)\s*$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => ({ file: `${match[2]}.wav`, reference: match[1] ?? '' }));
}

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
    reservePath: (extension: string) => join(dir, `out-${++counter}.${extension}`),
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
    if (id === 'pocketsphinx-en-us') {
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

async function main(): Promise<void> {
  const only = process.argv[2];
  if (only) {
    process.stdout.write(`${JSON.stringify(await measure(only))}\n`);
    return;
  }
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

await main();
