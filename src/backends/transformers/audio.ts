import { decodeAudio } from '../local/support/audio.js';

/**
 * Audio as the speech models want it: mono float samples at their sampling rate. transformers.js cannot
 * read audio files in Node (it relies on the browser's AudioContext), so the local backend's decoder reads
 * them: one WAV parser and one resampler for both backends, with the same header checks (sample rate,
 * channels, length) before anything is decoded, MP3 and Ogg Vorbis in WebAssembly, other formats through
 * ffmpeg where it is installed, and band-limited resampling rather than linear interpolation, which folds
 * 44.1 kHz audio's upper half into the speech band.
 */
export async function readAudio(
  path: string,
  samplingRate: number,
  signal?: AbortSignal,
): Promise<Float32Array> {
  return (await decodeAudio(path, samplingRate, signal)).samples;
}
