/**
 * How large an image or a recording Jarvis decodes, in one place. A file's size on disk says little about
 * the work it makes: a 746 KB PNG can declare 16000×16000 pixels (1 GB of RGBA once decoded) and a 2 KB WAV
 * can declare a sample rate of 4 GHz (the resampler then builds a 4 GB filter). So these bounds are read
 * from the header, before anything is decoded, by every place that decodes: uploads, task inputs and each
 * expert's decoder. Each bound is far above what the experts use: the detectors work at 256-1280 px, the
 * speech models at 16 kHz.
 */

/**
 * Pixels (width × height) of an image: 40 megapixels, above any phone or consumer camera photo (a 24 MP
 * photo decodes to ~100 MB of RGBA; 40 MP to ~160 MB).
 */
export const MAX_IMAGE_PIXELS = 40_000_000;

/** Lowest and highest sample rate of a recording: telephone audio is 8 kHz, studio masters 192 kHz. */
export const MIN_AUDIO_SAMPLE_RATE = 1_000;
export const MAX_AUDIO_SAMPLE_RATE = 192_000;

/** Channels of a recording: 7.1.4 surround is 12; more is not something a person recorded. */
export const MAX_AUDIO_CHANNELS = 32;

/**
 * Length of a recording: 5 minutes. HuggingGPT's audio tasks take clips of seconds; speech recognition
 * runs at about real time on a laptop CPU and a task has 2 minutes by default.
 */
export const MAX_AUDIO_SECONDS = 300;

/**
 * Samples per channel of a recording: 5 minutes at 48 kHz. Resampling costs in proportion to the samples
 * read (~0.4 µs each), so this bounds it to a few seconds; a 192 kHz recording may last 75 seconds.
 */
export const MAX_AUDIO_SAMPLES = MAX_AUDIO_SECONDS * 48_000;

/** "16000×16000 (256.0 megapixels)". */
function describePixels(width: number, height: number): string {
  return `${width}×${height} (${((width * height) / 1_000_000).toFixed(1)} megapixels)`;
}

/**
 * Why an image of this size is refused, or undefined when it may be decoded. The message names the size
 * and the limit, for a task's error and an upload's 413 alike.
 */
export function imageSizeProblem(width: number, height: number): string | undefined {
  if (!Number.isFinite(width) || !Number.isFinite(height) || width <= 0 || height <= 0) return undefined;
  if (width * height <= MAX_IMAGE_PIXELS) return undefined;
  return `the image is ${describePixels(width, height)}, over the limit of ${MAX_IMAGE_PIXELS / 1_000_000} megapixels`;
}

/** What a recording's header declares, as far as the limits care. */
export interface AudioHeader {
  sampleRate: number;
  channels: number;
  /** Samples per channel, when the header (or the decoded length) tells. */
  frames?: number;
}

/** Why a recording with this header is refused, or undefined when it may be decoded. */
export function audioHeaderProblem(header: AudioHeader): string | undefined {
  const { sampleRate, channels, frames } = header;
  if (
    !Number.isInteger(sampleRate) ||
    sampleRate < MIN_AUDIO_SAMPLE_RATE ||
    sampleRate > MAX_AUDIO_SAMPLE_RATE
  )
    return `the audio declares a sample rate of ${sampleRate} Hz, outside the supported ${MIN_AUDIO_SAMPLE_RATE}-${MAX_AUDIO_SAMPLE_RATE} Hz`;
  if (!Number.isInteger(channels) || channels < 1 || channels > MAX_AUDIO_CHANNELS)
    return `the audio declares ${channels} channels, outside the supported 1-${MAX_AUDIO_CHANNELS}`;
  if (frames === undefined) return undefined;
  const seconds = frames / sampleRate;
  if (seconds > MAX_AUDIO_SECONDS)
    return `the audio is ${Math.round(seconds)} seconds long, over the limit of ${MAX_AUDIO_SECONDS} seconds (${MAX_AUDIO_SECONDS / 60} minutes)`;
  if (frames > MAX_AUDIO_SAMPLES)
    return `the audio has ${frames} samples per channel (${Math.round(seconds)} seconds at ${sampleRate} Hz), over the limit of ${MAX_AUDIO_SAMPLES} (${MAX_AUDIO_SECONDS / 60} minutes at 48 kHz)`;
  return undefined;
}
