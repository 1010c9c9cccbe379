import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';

/**
 * Audio as the speech models want it: mono float samples at their sampling rate. transformers.js cannot
 * read audio files in Node (it relies on the browser's AudioContext), so WAV is decoded here and other
 * formats go through ffmpeg when it is installed.
 */
export async function readAudio(path: string, samplingRate: number): Promise<Float32Array> {
  const bytes = await readFile(path);
  if (
    bytes.subarray(0, 4).toString('ascii') === 'RIFF' &&
    bytes.subarray(8, 12).toString('ascii') === 'WAVE'
  ) {
    const { samples, rate } = decodeWav(bytes);
    return resample(samples, rate, samplingRate);
  }
  return decodeWithFfmpeg(path, samplingRate);
}

/** PCM (8/16/24/32-bit) or 32-bit float WAV, all channels averaged into one. */
export function decodeWav(bytes: Buffer): { samples: Float32Array; rate: number } {
  let offset = 12;
  let format: { audioFormat: number; channels: number; rate: number; bits: number } | undefined;
  while (offset + 8 <= bytes.length) {
    const id = bytes.subarray(offset, offset + 4).toString('ascii');
    const size = bytes.readUInt32LE(offset + 4);
    const body = offset + 8;
    if (id === 'fmt ') {
      format = {
        audioFormat: bytes.readUInt16LE(body),
        channels: bytes.readUInt16LE(body + 2),
        rate: bytes.readUInt32LE(body + 4),
        bits: bytes.readUInt16LE(body + 14),
      };
      // WAVE_FORMAT_EXTENSIBLE keeps the real format in its sub-format GUID.
      if (format.audioFormat === 0xfffe && size >= 26) format.audioFormat = bytes.readUInt16LE(body + 24);
    } else if (id === 'data') {
      if (!format) throw new Error('WAV file has its data before its format');
      const end = Math.min(bytes.length, body + size);
      return { samples: pcmToMono(bytes.subarray(body, end), format), rate: format.rate };
    }
    offset = body + size + (size % 2);
  }
  throw new Error('WAV file has no data chunk');
}

function pcmToMono(
  data: Buffer,
  format: { audioFormat: number; channels: number; bits: number },
): Float32Array {
  const bytesPerSample = format.bits / 8;
  const frames = Math.floor(data.length / (bytesPerSample * format.channels));
  const out = new Float32Array(frames);
  const read = (position: number): number => {
    if (format.audioFormat === 3 && format.bits === 32) return data.readFloatLE(position);
    switch (format.bits) {
      case 8:
        return (data.readUInt8(position) - 128) / 128;
      case 16:
        return data.readInt16LE(position) / 32768;
      case 24:
        return data.readIntLE(position, 3) / 8388608;
      case 32:
        return data.readInt32LE(position) / 2147483648;
      default:
        throw new Error(`WAV with ${format.bits}-bit samples is not supported`);
    }
  };
  for (let frame = 0; frame < frames; frame++) {
    let sum = 0;
    for (let channel = 0; channel < format.channels; channel++) {
      sum += read((frame * format.channels + channel) * bytesPerSample);
    }
    out[frame] = sum / format.channels;
  }
  return out;
}

/** Linear interpolation: good enough for speech going to 16 kHz models. */
export function resample(samples: Float32Array, from: number, to: number): Float32Array {
  if (from === to) return samples;
  const length = Math.max(1, Math.round((samples.length * to) / from));
  const out = new Float32Array(length);
  const ratio = from / to;
  for (let i = 0; i < length; i++) {
    const position = i * ratio;
    const left = Math.floor(position);
    const right = Math.min(samples.length - 1, left + 1);
    const weight = position - left;
    out[i] = (samples[left] ?? 0) * (1 - weight) + (samples[right] ?? 0) * weight;
  }
  return out;
}

function decodeWithFfmpeg(path: string, samplingRate: number): Promise<Float32Array> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'ffmpeg',
      ['-v', 'error', '-i', path, '-f', 'f32le', '-ac', '1', '-ar', String(samplingRate), '-'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const chunks: Buffer[] = [];
    let errors = '';
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    child.on('error', (error: NodeJS.ErrnoException) =>
      reject(
        new Error(
          error.code === 'ENOENT'
            ? `${path} is not a WAV file, and decoding other audio formats needs ffmpeg (apt-get install ffmpeg)`
            : error.message,
        ),
      ),
    );
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`ffmpeg could not decode ${path}: ${errors.trim().split('\n').pop() ?? code}`));
        return;
      }
      const all = Buffer.concat(chunks);
      resolve(new Float32Array(all.buffer, all.byteOffset, Math.floor(all.length / 4)).slice());
    });
  });
}
