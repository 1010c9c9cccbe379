import { open, readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { CancelledError, InputError } from '../core/errors.js';
import { audioHeaderProblem, MAX_AUDIO_SECONDS } from '../core/media-limits.js';
import { findExecutable, runCommand } from '../core/processes.js';
import { unreadableFileMessage } from './types.js';
import { AudioRefusedError, type MonoAudio, parseWavInSlices, resampleInSlices } from './wav.js';

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

interface DecodedChunk {
  channelData: Float32Array[];
  samplesDecoded: number;
  sampleRate: number;
}

/** Compressed input fed to a decoder at a time: small enough that no chunk decodes to much past the limit. */
const CHUNK_BYTES = 16 * 1024;

/**
 * Collects a streaming decoder's output chunk by chunk, checking the rate, channels and length so far
 * against the limits after each: a compressed file's header says little about its length (a 2 MB MP3 at
 * 8 kbit/s is half an hour), so the check is on what the decoder produced, before it produces more.
 */
class BoundedAudio {
  private readonly parts: Float32Array[] = [];
  private frames = 0;
  private sampleRate = 0;

  add(chunk: DecodedChunk): void {
    if (chunk.samplesDecoded === 0) return;
    const problem = audioHeaderProblem({
      sampleRate: chunk.sampleRate,
      channels: chunk.channelData.length,
      frames: this.frames + chunk.samplesDecoded,
    });
    if (problem) throw new AudioRefusedError(problem);
    this.sampleRate = chunk.sampleRate;
    this.parts.push(mixDown(chunk.channelData, chunk.samplesDecoded));
    this.frames += chunk.samplesDecoded;
  }

  result(what: string): MonoAudio {
    if (this.frames === 0) throw new Error(`no ${what} found`);
    const samples = new Float32Array(this.frames);
    let at = 0;
    for (const part of this.parts) {
      samples.set(part, at);
      at += part.length;
    }
    return { samples, sampleRate: this.sampleRate };
  }
}

/** Lets the event loop serve others between decoded chunks, and stops when the task has ended. */
async function nextTurn(signal?: AbortSignal): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  signal?.throwIfAborted();
}

/** What the MPEG and Vorbis decoders share: a chunk decoded (at once or not), then what is left (Vorbis). */
interface ChunkDecoder {
  ready: Promise<void>;
  decode(chunk: Uint8Array): DecodedChunk | Promise<DecodedChunk>;
  flush?: () => Promise<DecodedChunk>;
  free(): void;
}

/** Feeds the file to `decoder` a chunk at a time, checking what it produced against the limits after each. */
async function decodeInChunks(
  decoder: ChunkDecoder,
  bytes: Uint8Array,
  what: string,
  signal?: AbortSignal,
): Promise<MonoAudio> {
  await decoder.ready;
  try {
    const audio = new BoundedAudio();
    for (let at = 0; at < bytes.length; at += CHUNK_BYTES) {
      audio.add(await decoder.decode(bytes.subarray(at, at + CHUNK_BYTES)));
      await nextTurn(signal);
    }
    if (decoder.flush) audio.add(await decoder.flush());
    return audio.result(what);
  } finally {
    decoder.free();
  }
}

async function decodeMp3(bytes: Uint8Array, signal?: AbortSignal): Promise<MonoAudio> {
  const { MPEGDecoder } = await import('mpg123-decoder');
  return decodeInChunks(new MPEGDecoder(), bytes, 'MPEG audio frames', signal);
}

async function decodeVorbis(bytes: Uint8Array, signal?: AbortSignal): Promise<MonoAudio> {
  const { OggVorbisDecoder } = await import('@wasm-audio-decoders/ogg-vorbis');
  return decodeInChunks(new OggVorbisDecoder(), bytes, 'Vorbis audio', signal);
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
      // A little past the limit, so that a longer recording is told apart from one of exactly the limit.
      '-t',
      String(MAX_AUDIO_SECONDS + 1),
      '-f',
      'wav',
      '-',
    ],
    { signal },
  );
  return parseWavInSlices(stdout, signal);
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
    const head = await readHead(path);
    if (head.length === 0) throw new AudioRefusedError('the audio file is empty');
    const container = sniffAudio(head);
    let audio: MonoAudio;
    switch (container) {
      case 'wav':
        audio = await parseWavInSlices(await readFile(path), signal);
        break;
      case 'mp3':
        audio = await decodeMp3(await readFile(path), signal);
        break;
      case 'ogg-vorbis':
        audio = await decodeVorbis(await readFile(path), signal);
        break;
      default:
        audio = await decodeWithFfmpeg(path, sampleRate, signal);
    }
    return await resampleInSlices(audio, sampleRate, signal);
  } catch (error) {
    // Stopped between slices because the task timed out or was cancelled: that, not a broken file.
    if (signal?.aborted) throw new CancelledError('The task');
    // A file no decoder can read is the input's problem (another model would fail the same), said plainly;
    // one refused for what its header declares says that.
    const message =
      error instanceof AudioRefusedError
        ? `${basename(path)}: ${error.message}`
        : unreadableFileMessage(path, 'audio', error);
    throw new InputError(message, { path });
  }
}
