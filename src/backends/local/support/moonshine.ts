import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { InferenceSession, Tensor } from 'onnxruntime-node';
import { throwIfAborted } from './inputs.js';
import { lazyModel } from './lazy.js';

const require = createRequire(import.meta.url);

/** The recognizer hears 16 kHz mono, as it was trained. */
export const MOONSHINE_SAMPLE_RATE = 16_000;

/** Moonshine Tiny's decoder: 6 layers, 8 attention heads of 36 dimensions (its config on the Hub). */
const LAYERS = 6;
const HEADS = 8;
const HEAD_SIZE = 36;
const START_TOKEN = 1;
const END_TOKEN = 2;

/**
 * At most this much audio goes to the model at once: Moonshine was trained on utterances of up to ~30 s, and
 * longer input drifts (it repeats or drops words). Longer recordings are cut at their quietest moments.
 */
const MAX_SEGMENT_SECONDS = 25;
/** A cut falls in the last this-many seconds of a segment, at the quietest 50 ms found there. */
const CUT_WINDOW_SECONDS = 8;
/** Tokens per second of audio at most (as the model's own JavaScript runner): a decoder that loops stops. */
const TOKENS_PER_SECOND = 6;
/** A segment quieter than this (RMS of 16-bit samples / 32768) holds no speech and is not decoded. */
const SILENCE_RMS = 0.003;

/** Where `@moonshine-ai/moonshine-js` keeps the English Tiny model (int8, ONNX), or undefined if not installed. */
export function moonshineModelDir(): string | undefined {
  // The package exports only its browser bundle, so it is found through the folders Node would look in.
  for (const folder of require.resolve.paths('@moonshine-ai/moonshine-js') ?? []) {
    const dir = join(folder, '@moonshine-ai', 'moonshine-js', 'dist', 'model', 'tiny', 'quantized');
    if (existsSync(join(dir, 'encoder_model.onnx')) && existsSync(join(dir, 'decoder_model_merged.onnx')))
      return dir;
  }
  return undefined;
}

interface Recognizer {
  ort: typeof import('onnxruntime-node');
  encoder: InferenceSession;
  decoder: InferenceSession;
  tokenizer: typeof import('llama-tokenizer-js').default;
}

/**
 * The encoder and decoder sessions, loaded once per process (each pool worker keeps its own) and released
 * when the backend closes.
 */
const recognizer = lazyModel(
  'Moonshine Tiny speech recognizer',
  async (): Promise<Recognizer> => {
    const dir = moonshineModelDir();
    if (!dir) throw new Error('the npm package @moonshine-ai/moonshine-js is not installed (npm install)');
    const ort = await import('onnxruntime-node');
    // One thread per session, as PaddleOCR's: the worker pool gives parallelism, and two threads decoded the
    // 7 s bench clip no faster (0.57-0.58 s either way) on this 2-core machine. Unlike PaddleOCR's, the memory
    // arena stays on: without it every decoding step allocates afresh and the fixture clips took 2.5x as long,
    // for ~55 MiB less (a process that has transcribed holds ~230 MiB more, ~110 MiB of it the sessions).
    const options: InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1 };
    const encoder = await ort.InferenceSession.create(join(dir, 'encoder_model.onnx'), options);
    const decoder = await ort.InferenceSession.create(join(dir, 'decoder_model_merged.onnx'), options);
    const { default: tokenizer } = await import('llama-tokenizer-js');
    return { ort, encoder, decoder, tokenizer };
  },
  async ({ encoder, decoder }) => {
    await Promise.all([encoder.release(), decoder.release()]);
  },
);

/**
 * Transcribes 16 kHz mono samples (-1..1): cased English text with punctuation, or '' when nothing was said.
 * Recordings longer than 25 s are decoded in segments cut at quiet moments.
 */
export async function transcribe(
  samples: Float32Array,
  signal: AbortSignal,
  onProgress?: (message: string) => void,
): Promise<{ text: string; segments: number }> {
  const model = await recognizer.get(onProgress);
  const pieces: string[] = [];
  const segments = segmentsOf(samples);
  for (const segment of segments) {
    throwIfAborted(signal);
    if (rms(segment) < SILENCE_RMS) continue;
    const text = await decodeSegment(model, segment, signal);
    if (text !== '') pieces.push(text);
  }
  return { text: pieces.join(' '), segments: segments.length };
}

/** Greedy decoding with the decoder's key/value cache: the encoder runs once, the decoder once per token. */
async function decodeSegment(model: Recognizer, audio: Float32Array, signal: AbortSignal): Promise<string> {
  const { ort, encoder, decoder, tokenizer } = model;
  const encoded = await encoder.run({ input_values: new ort.Tensor('float32', audio, [1, audio.length]) });
  const hidden = encoded.last_hidden_state as Tensor;
  const past: Record<string, Tensor> = {};
  for (let layer = 0; layer < LAYERS; layer++)
    for (const side of ['decoder', 'encoder'])
      for (const kind of ['key', 'value'])
        past[`past_key_values.${layer}.${side}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [
          1,
          HEADS,
          0,
          HEAD_SIZE,
        ]);
  const tokens: number[] = [];
  const limit = Math.max(8, Math.trunc((audio.length / MOONSHINE_SAMPLE_RATE) * TOKENS_PER_SECOND));
  let next = START_TOKEN;
  for (let step = 0; step < limit; step++) {
    throwIfAborted(signal);
    const output = await decoder.run({
      input_ids: new ort.Tensor('int64', BigInt64Array.of(BigInt(next)), [1, 1]),
      encoder_hidden_states: hidden,
      use_cache_branch: new ort.Tensor('bool', [step > 0], [1]),
      ...past,
    });
    next = argmax((output.logits as Tensor).data as Float32Array);
    if (next === END_TOKEN) break;
    tokens.push(next);
    // The encoder's keys and values are computed on the first step and stay; the decoder's grow each step.
    for (const name of Object.keys(past)) {
      if (step === 0 || name.includes('.decoder.'))
        past[name] = output[name.replace('past_key_values', 'present')] as Tensor;
    }
  }
  // Moonshine's vocabulary is Llama's (32,000 pieces) plus special tokens above it, which carry no text.
  const words = tokens.filter((id) => id > END_TOKEN && id < tokenizer.vocabById.length);
  return tokenizer.decode(words, false).trim();
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let index = 1; index < values.length; index++) if (values[index]! > values[best]!) best = index;
  return best;
}

function rms(samples: Float32Array): number {
  let sum = 0;
  for (const sample of samples) sum += sample * sample;
  return samples.length === 0 ? 0 : Math.sqrt(sum / samples.length);
}

/** Cuts a long recording into pieces of at most 25 s, each ending at the quietest 50 ms of its last 8 s. */
export function segmentsOf(samples: Float32Array, rate = MOONSHINE_SAMPLE_RATE): Float32Array[] {
  const max = MAX_SEGMENT_SECONDS * rate;
  const window = Math.round(0.05 * rate);
  const segments: Float32Array[] = [];
  let start = 0;
  while (samples.length - start > max) {
    let cut = start + max;
    let quietest = Number.POSITIVE_INFINITY;
    for (let from = start + max - CUT_WINDOW_SECONDS * rate; from + window <= start + max; from += window) {
      const loudness = rms(samples.subarray(from, from + window));
      if (loudness < quietest) {
        quietest = loudness;
        cut = from + Math.round(window / 2);
      }
    }
    segments.push(samples.subarray(start, cut));
    start = cut;
  }
  segments.push(samples.subarray(start));
  return segments;
}
