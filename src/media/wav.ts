import { audioHeaderProblem } from '../core/media-limits.js';

/**
 * A recording refused for what its header (or its decoded length) declares, or for being empty: the file's
 * fault, not the decoder's, so it is reported as bad input rather than a failed model.
 */
export class AudioRefusedError extends Error {}

/** Audio as the recognizer and the synthesizers see it: mono float samples in -1..1 at one rate. */
export interface MonoAudio {
  samples: Float32Array;
  sampleRate: number;
}

/**
 * Parses RIFF/WAVE: PCM 8/16/24/32-bit integer and 32/64-bit float, up to `MAX_AUDIO_CHANNELS` channels
 * (mixed to mono). Every header value is checked before anything is allocated: the header is written by
 * whoever made the file, and a 2 KB file declaring 4 GHz or 0 bits would otherwise cost gigabytes later.
 */
export function parseWav(bytes: Uint8Array): MonoAudio {
  const job = wavReader(bytes);
  job.run(0, job.samples.length);
  return { samples: job.samples, sampleRate: job.sampleRate };
}

/** Frames converted between two turns of the event loop: ~10 ms of work. */
const SLICE_FRAMES = 400_000;

/**
 * `parseWav`, a slice of frames at a time, with the event loop served between slices: five minutes of
 * 48 kHz stereo took 0.4 s in one go. Stops at the next slice when the signal aborts.
 */
export async function parseWavInSlices(bytes: Uint8Array, signal?: AbortSignal): Promise<MonoAudio> {
  const job = wavReader(bytes);
  for (let from = 0; from < job.samples.length; from += SLICE_FRAMES) {
    if (from > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    }
    job.run(from, Math.min(job.samples.length, from + SLICE_FRAMES));
  }
  return { samples: job.samples, sampleRate: job.sampleRate };
}

/** A data size only a writer that did not know the length writes: 0, or 2 GB and more. */
function streamedSize(size: number): boolean {
  return size === 0 || size >= 0x7fff_f000;
}

function formatSeconds(seconds: number): string {
  return seconds >= 10 ? `${Math.round(seconds)} s` : `${seconds.toFixed(1)} s`;
}

/** The header read and checked, and a converter of frames to mono samples (nothing converted yet). */
function wavReader(bytes: Uint8Array): {
  samples: Float32Array;
  sampleRate: number;
  run: (from: number, to: number) => void;
} {
  if (bytes.length === 0) throw new AudioRefusedError('the audio file is empty');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tag = (offset: number) => String.fromCharCode(...bytes.subarray(offset, offset + 4));
  if (bytes.length < 12 || tag(0) !== 'RIFF' || tag(8) !== 'WAVE')
    throw new Error('not a WAV file (no RIFF/WAVE header)');
  let format: { code: number; channels: number; sampleRate: number; bits: number } | undefined;
  let data: { offset: number; length: number } | undefined;
  let shortBy: { declared: number; present: number } | undefined;
  let offset = 12;
  while (offset + 8 <= bytes.length) {
    const id = tag(offset);
    const size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === 'fmt ') {
      if (size < 16 || body + 16 > bytes.length) throw new Error('WAV file with a truncated fmt chunk');
      let code = view.getUint16(body, true);
      // WAVE_FORMAT_EXTENSIBLE keeps the real format code in the first two bytes of its sub-format GUID.
      if (code === 0xfffe && size >= 26 && body + 26 <= bytes.length) code = view.getUint16(body + 24, true);
      format = {
        code,
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        bits: view.getUint16(body + 14, true),
      };
    } else if (id === 'data') {
      // The declared size never decides how much is read, only the bytes present are decoded. Streaming
      // writers (ffmpeg to a pipe, recorders) declare an unknown length (0, or 2 GB and more); any other
      // size larger than what is there means the file was cut short, which is said rather than guessed at.
      const present = bytes.length - body;
      data = { offset: body, length: streamedSize(size) ? present : Math.min(size, present) };
      if (!streamedSize(size) && size > present) shortBy = { declared: size, present };
      break;
    }
    offset = body + size + (size % 2);
  }
  if (!format) throw new Error('WAV file without a fmt chunk');
  if (!data) throw new Error('WAV file without a data chunk');
  const { code, channels, sampleRate, bits } = format;
  const isFloat = code === 3;
  if (!(code === 1 || isFloat) || ![8, 16, 24, 32, 64].includes(bits) || (isFloat && bits < 32)) {
    throw new Error(`unsupported WAV encoding (format ${code}, ${bits} bits); convert it to PCM first`);
  }
  if (channels < 1) throw new Error('WAV file with no channels');
  const bytesPerSample = bits / 8;
  const frameBytes = bytesPerSample * channels;
  if (shortBy && Math.floor(shortBy.declared / frameBytes) > Math.floor(shortBy.present / frameBytes)) {
    const seconds = (byteCount: number) => formatSeconds(byteCount / frameBytes / Math.max(1, sampleRate));
    throw new Error(
      `the WAV data is truncated: its header declares ${seconds(shortBy.declared)} of audio, the file holds ${seconds(shortBy.present)}`,
    );
  }
  const problem = audioHeaderProblem({
    sampleRate,
    channels,
    frames: Math.floor(data.length / (bytesPerSample * channels)),
  });
  if (problem) throw new AudioRefusedError(problem);
  const frames = Math.floor(data.length / (bytesPerSample * channels));
  const samples = new Float32Array(frames);
  const read = (at: number): number => {
    if (isFloat) return bits === 32 ? view.getFloat32(at, true) : view.getFloat64(at, true);
    switch (bits) {
      case 8:
        return ((bytes[at] ?? 128) - 128) / 128;
      case 16:
        return view.getInt16(at, true) / 32768;
      case 24: {
        const value = (bytes[at] ?? 0) | ((bytes[at + 1] ?? 0) << 8) | ((bytes[at + 2] ?? 0) << 16);
        return (value & 0x800000 ? value - 0x1000000 : value) / 8388608;
      }
      default:
        return view.getInt32(at, true) / 2147483648;
    }
  };
  const { offset: start } = data;
  const run = (from: number, to: number) => {
    for (let frame = from; frame < to; frame += 1) {
      let sum = 0;
      for (let channel = 0; channel < channels; channel += 1) {
        sum += read(start + (frame * channels + channel) * bytesPerSample);
      }
      samples[frame] = sum / channels;
    }
  };
  return { samples, sampleRate, run };
}

/** 16-bit PCM mono WAV. */
export function encodeWav(audio: MonoAudio): Uint8Array {
  const bytes = new Uint8Array(44 + audio.samples.length * 2);
  const view = new DataView(bytes.buffer);
  const ascii = (offset: number, text: string) => {
    for (let index = 0; index < text.length; index += 1) bytes[offset + index] = text.charCodeAt(index);
  };
  ascii(0, 'RIFF');
  view.setUint32(4, 36 + audio.samples.length * 2, true);
  ascii(8, 'WAVE');
  ascii(12, 'fmt ');
  view.setUint32(16, 16, true);
  view.setUint16(20, 1, true);
  view.setUint16(22, 1, true);
  view.setUint32(24, audio.sampleRate, true);
  view.setUint32(28, audio.sampleRate * 2, true);
  view.setUint16(32, 2, true);
  view.setUint16(34, 16, true);
  ascii(36, 'data');
  view.setUint32(40, audio.samples.length * 2, true);
  audio.samples.forEach((sample, index) => {
    const clipped = Math.max(-1, Math.min(1, sample));
    view.setInt16(44 + index * 2, Math.round(clipped < 0 ? clipped * 32768 : clipped * 32767), true);
  });
  return bytes;
}

/**
 * Band-limited resampling (windowed sinc, Blackman window). Downsampling low-passes at the new Nyquist
 * frequency first, so that 44.1 kHz music-rate audio does not alias into the recognizer's 0-8 kHz band.
 */
export function resample(audio: MonoAudio, targetRate: number): MonoAudio {
  const job = resampler(audio, targetRate);
  if (!job) return audio;
  job.run(0, job.output.length);
  return { samples: job.output, sampleRate: targetRate };
}

/** Output samples computed between two turns of the event loop: ~10-30 ms of work at 48 kHz input. */
const SLICE_SAMPLES = 8_000;

/**
 * `resample`, a slice at a time, with the event loop served between slices: five minutes of 48 kHz audio
 * is some 5 s of work on a busy 2-core machine, which would otherwise hold every other request that long.
 * Stops at the next slice when the signal aborts (a task that timed out stops using the CPU).
 */
export async function resampleInSlices(
  audio: MonoAudio,
  targetRate: number,
  signal?: AbortSignal,
): Promise<MonoAudio> {
  const job = resampler(audio, targetRate);
  if (!job) return audio;
  for (let from = 0; from < job.output.length; from += SLICE_SAMPLES) {
    if (from > 0) {
      await new Promise((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
    }
    job.run(from, Math.min(job.output.length, from + SLICE_SAMPLES));
  }
  return { samples: job.output, sampleRate: targetRate };
}

/** The filter and output buffer for one conversion, or undefined when the rates already match. */
function resampler(
  audio: MonoAudio,
  targetRate: number,
): { output: Float32Array; run: (from: number, to: number) => void } | undefined {
  if (audio.sampleRate === targetRate) return undefined;
  // The filter's width grows with the ratio of the rates: a rate from a hostile header (4 GHz) would make
  // its table gigabytes long. The decoders check first; this keeps the function safe on its own.
  for (const rate of [audio.sampleRate, targetRate]) {
    const problem = audioHeaderProblem({ sampleRate: rate, channels: 1 });
    if (problem) throw new AudioRefusedError(problem);
  }
  const ratio = audio.sampleRate / targetRate;
  const cutoff = Math.min(1, 1 / ratio) * 0.95;
  const halfWidth = Math.ceil(16 / cutoff);
  // The kernel tabulated at 1/256 sample steps: sin/cos per tap made this 10x slower.
  const steps = 256;
  const table = new Float32Array(halfWidth * steps + 2);
  for (let index = 0; index < table.length; index += 1) {
    const distance = index / steps;
    const x = Math.PI * distance * cutoff;
    const sinc = x === 0 ? 1 : Math.sin(x) / x;
    const window =
      distance >= halfWidth
        ? 0
        : 0.42 +
          0.5 * Math.cos((Math.PI * distance) / halfWidth) +
          0.08 * Math.cos((2 * Math.PI * distance) / halfWidth);
    table[index] = sinc * window;
  }
  const input = audio.samples;
  const output = new Float32Array(Math.floor(input.length / ratio));
  const run = (from: number, to: number) => {
    for (let index = from; index < to; index += 1) {
      const center = index * ratio;
      const first = Math.max(0, Math.ceil(center - halfWidth));
      const last = Math.min(input.length - 1, Math.floor(center + halfWidth));
      let sum = 0;
      let weights = 0;
      for (let source = first; source <= last; source += 1) {
        const weight = table[Math.round(Math.abs(source - center) * steps)] ?? 0;
        sum += (input[source] ?? 0) * weight;
        weights += weight;
      }
      output[index] = weights === 0 ? 0 : sum / weights;
    }
  };
  return { output, run };
}
