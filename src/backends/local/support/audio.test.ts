import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { temporarySink } from '../../../../test/support/expert-requests.js';
import { decodeAudio, sniffAudio } from './audio.js';
import { encodeWav, type MonoAudio, parseWav, resample } from './wav.js';
import { wordErrorRate } from './word-error-rate.js';

const tone = (frequency: number, sampleRate: number, seconds: number): MonoAudio => ({
  sampleRate,
  samples: Float32Array.from(
    { length: Math.round(sampleRate * seconds) },
    (_, index) => Math.sin((2 * Math.PI * frequency * index) / sampleRate) * 0.5,
  ),
});

const rms = (samples: Float32Array) =>
  Math.sqrt(samples.reduce((sum, value) => sum + value * value, 0) / samples.length);

/** Counts upward zero crossings: a tone's frequency times its duration. */
const crossings = (samples: Float32Array) =>
  samples.reduce(
    (count, value, index) => count + (index > 0 && (samples[index - 1] ?? 0) < 0 && value >= 0 ? 1 : 0),
    0,
  );

describe('audio conversion for the recognizer', () => {
  test('resampling 44.1 kHz to 16 kHz keeps a 1 kHz tone at its pitch and loudness', () => {
    const converted = resample(tone(1000, 44_100, 1), 16_000);
    assert.equal(converted.sampleRate, 16_000);
    assert.equal(converted.samples.length, 16_000);
    const middle = converted.samples.subarray(1000, 15_000);
    assert.ok(Math.abs(crossings(middle) - 875) <= 2, `crossings ${crossings(middle)}`);
    assert.ok(Math.abs(rms(middle) - 0.5 / Math.SQRT2) < 0.01, `rms ${rms(middle)}`);
  });

  test('resampling to 16 kHz removes a 12 kHz tone instead of folding it into the speech band', () => {
    const converted = resample(tone(12_000, 44_100, 1), 16_000);
    assert.ok(rms(converted.samples.subarray(1000, 15_000)) < 0.01);
  });

  test('a WAV written and read back is the same audio', () => {
    const original = tone(440, 16_000, 0.25);
    const back = parseWav(encodeWav(original));
    assert.equal(back.sampleRate, 16_000);
    assert.equal(back.samples.length, original.samples.length);
    assert.ok(back.samples.every((value, index) => Math.abs(value - (original.samples[index] ?? 0)) < 1e-4));
  });

  test('stereo 24-bit WAV is mixed down to mono', () => {
    const frames = 4;
    const bytes = new Uint8Array(44 + frames * 6);
    const view = new DataView(bytes.buffer);
    bytes.set(new TextEncoder().encode('RIFF'), 0);
    view.setUint32(4, bytes.length - 8, true);
    bytes.set(new TextEncoder().encode('WAVEfmt '), 8);
    view.setUint32(16, 16, true);
    view.setUint16(20, 1, true);
    view.setUint16(22, 2, true);
    view.setUint32(24, 8000, true);
    view.setUint32(28, 8000 * 6, true);
    view.setUint16(32, 6, true);
    view.setUint16(34, 24, true);
    bytes.set(new TextEncoder().encode('data'), 36);
    view.setUint32(40, frames * 6, true);
    // Left channel at +half scale, right channel silent: the mono mix is a quarter of full scale.
    for (let frame = 0; frame < frames; frame += 1) {
      const at = 44 + frame * 6;
      bytes[at] = 0x00;
      bytes[at + 1] = 0x00;
      bytes[at + 2] = 0x40;
    }
    const audio = parseWav(bytes);
    assert.equal(audio.samples.length, frames);
    assert.ok(audio.samples.every((value) => Math.abs(value - 0.25) < 1e-6));
  });

  test('formats are told apart by their first bytes, not their names', () => {
    const bytes = (text: string) => new TextEncoder().encode(text);
    assert.equal(sniffAudio(bytes('RIFF\0\0\0\0WAVEfmt ')), 'wav');
    assert.equal(sniffAudio(bytes('ID3\u0004')), 'mp3');
    assert.equal(sniffAudio(bytes('OggS\0\u0002...........................OpusHead')), 'ogg-opus');
    assert.equal(sniffAudio(bytes('OggS\0\u0002...........................\u0001vorbis')), 'ogg-vorbis');
    assert.equal(sniffAudio(bytes('fLaC')), 'flac');
  });

  test('a file that is not audio fails with a clear message', async () => {
    const path = join(temporarySink().dir, 'notes.wav');
    await writeFile(path, 'RIFF this is not really a wave file');
    await assert.rejects(decodeAudio(path, 16_000), {
      code: 'inference',
      message: /Cannot read the audio .*notes\.wav/,
    });
  });
});

describe('word error rate', () => {
  test('counts substitutions, deletions and insertions against the reference words', () => {
    assert.deepEqual(
      wordErrorRate('he was not an ill disposed young man', 'he was not an illness those young man'),
      {
        errors: 2,
        words: 8,
        rate: 0.25,
      },
    );
    assert.equal(wordErrorRate('Hello, World!', 'hello world').rate, 0);
    assert.equal(wordErrorRate('a b c', '').rate, 1);
  });
});
