import { open, readFile } from 'node:fs/promises';
import { InferenceError } from '../../../core/errors.js';
import { findExecutable, runCommand } from './system.js';
import { type MonoAudio, parseWav, resample } from './wav.js';

export type AudioContainer = 'wav' | 'mp3' | 'ogg-vorbis' | 'ogg-opus' | 'flac' | 'other';

/** What the file is, by its first bytes (the mime type a plan gives is often a guess from the name). */
export function sniffAudio(head: Uint8Array): AudioContainer {
  const text = String.fromCharCode(...head.subarray(0, 64));
  if (text.startsWith('RIFF') && text.slice(8, 12) === 'WAVE') return 'wav';
  if (text.startsWith('ID3') || (head[0] === 0xff && ((head[1] ?? 0) & 0xe0) === 0xe0)) return 'mp3';
  if (text.startsWith('OggS')) return text.includes('OpusHead') ? 'ogg-opus' : 'ogg-vorbis';
  if (text.startsWith('fLaC')) return 'flac';
  return 'other';
}

async function readHead(path: string): Promise<Uint8Array> {
  const handle = await open(path, 'r');
  try {
    const buffer = new Uint8Array(64);
    const { bytesRead } = await handle.read(buffer, 0, 64, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

function mixDown(channels: Float32Array[], length: number): Float32Array {
  const mono = new Float32Array(length);
  if (channels.length === 0) return mono;
  for (const channel of channels) {
    for (let index = 0; index < length; index += 1)
      mono[index] = (mono[index] ?? 0) + (channel[index] ?? 0) / channels.length;
  }
  return mono;
}

async function decodeMp3(bytes: Uint8Array): Promise<MonoAudio> {
  const { MPEGDecoder } = await import('mpg123-decoder');
  const decoder = new MPEGDecoder();
  await decoder.ready;
  try {
    const decoded = decoder.decode(bytes);
    if (decoded.samplesDecoded === 0) throw new Error('no MPEG audio frames found');
    return { samples: mixDown(decoded.channelData, decoded.samplesDecoded), sampleRate: decoded.sampleRate };
  } finally {
    decoder.free();
  }
}

async function decodeVorbis(bytes: Uint8Array): Promise<MonoAudio> {
  const { OggVorbisDecoder } = await import('@wasm-audio-decoders/ogg-vorbis');
  const decoder = new OggVorbisDecoder();
  await decoder.ready;
  try {
    const decoded = await decoder.decodeFile(bytes);
    if (decoded.samplesDecoded === 0) throw new Error('no Vorbis audio found');
    return { samples: mixDown(decoded.channelData, decoded.samplesDecoded), sampleRate: decoded.sampleRate };
  } finally {
    decoder.free();
  }
}

/** Any format ffmpeg knows, as 16-bit mono WAV at the given rate. */
async function decodeWithFfmpeg(path: string, sampleRate: number, signal?: AbortSignal): Promise<MonoAudio> {
  const ffmpeg = await findExecutable('ffmpeg');
  if (!ffmpeg) throw new Error('this audio format needs ffmpeg to convert it: sudo apt-get install ffmpeg');
  const { stdout } = await runCommand(
    ffmpeg,
    [
      '-nostdin',
      '-hide_banner',
      '-loglevel',
      'error',
      '-i',
      path,
      '-ac',
      '1',
      '-ar',
      String(sampleRate),
      '-f',
      'wav',
      '-',
    ],
    { signal },
  );
  return parseWav(stdout);
}

/**
 * Reads WAV, MP3 and Ogg Vorbis with JavaScript/WebAssembly decoders (no system packages needed), other
 * formats (Opus, FLAC, M4A, WebM) through ffmpeg where it is installed, and returns mono audio at
 * `sampleRate`.
 */
export async function decodeAudio(
  path: string,
  sampleRate: number,
  signal?: AbortSignal,
): Promise<MonoAudio> {
  try {
    const container = sniffAudio(await readHead(path));
    let audio: MonoAudio;
    switch (container) {
      case 'wav':
        audio = parseWav(await readFile(path));
        break;
      case 'mp3':
        audio = await decodeMp3(await readFile(path));
        break;
      case 'ogg-vorbis':
        audio = await decodeVorbis(await readFile(path));
        break;
      default:
        audio = await decodeWithFfmpeg(path, sampleRate, signal);
    }
    return resample(audio, sampleRate);
  } catch (error) {
    throw new InferenceError(`Cannot read the audio ${path}: ${(error as Error).message}`, { cause: error });
  }
}
