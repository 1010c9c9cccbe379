import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { worstEventLoopGap } from '../../test/support/event-loop.js';
import { temporarySink } from '../../test/support/expert-requests.js';
import { fixture } from '../../test/support/fixtures.js';
import { wavDeclaring } from '../../test/support/hostile-media.js';
import { wordErrorRate } from '../backends/local/support/word-error-rate.js';
import { audioHeaderProblem, MAX_AUDIO_SAMPLES } from '../core/media-limits.js';
import { findExecutable, runCommand } from '../core/processes.js';
import { decodeAudio, sniffAudio } from './audio.js';
import { encodeWav, type MonoAudio, parseWav, resample } from './wav.js';

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
      code: 'input',
      message: /^notes\.wav cannot be read as audio/,
    });
  });
});

/** Writes bytes into a scratch folder and decodes them as the recognizer would, timing the refusal. */
async function decodeBytes(name: string, bytes: Uint8Array): Promise<{ error: unknown; ms: number }> {
  const path = join(temporarySink().dir, name);
  await writeFile(path, bytes);
  const started = performance.now();
  try {
    await decodeAudio(path, 16_000);
    return { error: undefined, ms: performance.now() - started };
  } catch (error) {
    return { error, ms: performance.now() - started };
  }
}

/** `count` silent MPEG-2.5 Layer III frames, mono, 8 kHz, 8 kbit/s: 72 bytes for each 72 ms. */
function silentMp3(count: number): Uint8Array {
  const frame = Buffer.concat([Buffer.from([0xff, 0xe3, 0x18, 0xc0]), Buffer.alloc(68)]);
  return Buffer.concat(Array.from({ length: count }, () => frame));
}

test('an MP3 and an Ogg Vorbis of a recording decode, without ffmpeg, to as many samples as its WAV', async () => {
  const wav = fixture('audio', 'sense_and_sensibility_01_austen_64kb-0870.wav');
  const ffmpeg = await findExecutable('ffmpeg');
  assert.ok(ffmpeg, 'ffmpeg makes the MP3 and Ogg copies (.ci/apt-packages.txt)');
  const expected = (await decodeAudio(wav, 16_000)).samples.length;
  for (const [name, codec] of [
    ['clip.mp3', 'libmp3lame'],
    ['clip.ogg', 'libvorbis'],
  ] as const) {
    const path = join(temporarySink().dir, name);
    await runCommand(ffmpeg, ['-v', 'error', '-y', '-i', wav, '-c:a', codec, path]);
    const decoded = await decodeAudio(path, 16_000);
    assert.equal(decoded.sampleRate, 16_000);
    assert.ok(
      Math.abs(decoded.samples.length - expected) <= 1_600,
      `${name}: ${decoded.samples.length} vs ${expected}`,
    );
  }
});

describe('recordings whose headers lie', () => {
  test('a 2 KB WAV declaring a sample rate of 0xFFFFFFFF Hz is refused at once, naming the rate and the range', async () => {
    const { error, ms } = await decodeBytes(
      'fast.wav',
      wavDeclaring({ sampleRate: 0xffffffff, dataBytes: 2_000 }),
    );
    assert.ok(ms < 500, `refused in ${Math.round(ms)} ms`);
    assert.ok(error instanceof Error);
    assert.equal((error as { code?: string }).code, 'input');
    assert.match(error.message, /sample rate of 4294967295 Hz, outside the supported 1000-192000 Hz/);
  });

  test('a WAV declaring 0 Hz, no channels, 1000 channels or odd sample sizes is refused with what is wrong', async () => {
    const cases: [Parameters<typeof wavDeclaring>[0], RegExp][] = [
      [{ sampleRate: 0 }, /sample rate of 0 Hz/],
      [{ channels: 0 }, /no channels/],
      [{ channels: 1000, dataBytes: 4_000 }, /1000 channels, outside the supported 1-32/],
      [{ bits: 0 }, /unsupported WAV encoding \(format 1, 0 bits\)/],
      [{ bits: 12 }, /unsupported WAV encoding \(format 1, 12 bits\)/],
      [{ format: 3, bits: 16 }, /unsupported WAV encoding \(format 3, 16 bits\)/],
    ];
    for (const [declaration, expected] of cases) {
      const { error } = await decodeBytes('odd.wav', wavDeclaring(declaration));
      assert.match((error as Error | undefined)?.message ?? 'decoded', expected, JSON.stringify(declaration));
    }
  });

  test('a WAV whose data chunk declares an unknown length (4 GB, as streaming writers do) is read as the 3.2 KB it holds', async () => {
    const bytes = wavDeclaring({ declaredDataBytes: 0xfffffff0, dataBytes: 3_200 });
    const audio = parseWav(bytes);
    assert.equal(audio.samples.length, 1_600);
    assert.equal(parseWav(wavDeclaring({ declaredDataBytes: 0, dataBytes: 3_200 })).samples.length, 1_600);
  });

  test('a WAV cut short (the header declares 2 s, the file holds 0.5 s) is refused as truncated, by its name', async () => {
    const { error } = await decodeBytes(
      'cut.wav',
      wavDeclaring({ declaredDataBytes: 64_000, dataBytes: 16_000 }),
    );
    assert.equal((error as { code?: string }).code, 'input');
    assert.equal(
      (error as Error).message,
      'cut.wav cannot be read as audio: the file is truncated or damaged (the WAV data is truncated: its header declares 2.0 s of audio, the file holds 0.5 s)',
    );
  });

  test('a WAV missing less than one frame at its end (an odd byte) is read whole', () => {
    const audio = parseWav(wavDeclaring({ declaredDataBytes: 3_201, dataBytes: 3_200 }));
    assert.equal(audio.samples.length, 1_600);
  });

  test('a WAV cut off inside its format chunk is refused instead of read past its end', () => {
    assert.throws(() => parseWav(wavDeclaring().subarray(0, 30)), /truncated fmt chunk/);
  });

  test('a recording over 5 minutes is refused before it is mixed down or resampled', async () => {
    // 301 s of 8-bit mono at 1 kHz: 301 KB on disk.
    const long = wavDeclaring({ sampleRate: 1_000, bits: 8, dataBytes: 301_000 });
    const { error } = await decodeBytes('long.wav', long);
    assert.match(
      (error as Error).message,
      /the audio is 301 seconds long, over the limit of 300 seconds \(5 minutes\)/,
    );
    const fine = await decodeBytes(
      'fine.wav',
      wavDeclaring({ sampleRate: 1_000, bits: 8, dataBytes: 299_000 }),
    );
    assert.equal(fine.error, undefined);
  });

  test('an MP3 over 5 minutes is refused while it is decoded, not after', async () => {
    // 4200 frames of 72 ms: 302 s in 302 KB, at a bit rate where a few MB would last hours.
    const { error } = await decodeBytes('long.mp3', silentMp3(4_200));
    assert.match((error as Error).message, /over the limit of 300 seconds/);
    const short = await decodeBytes('short.mp3', silentMp3(100));
    assert.equal(short.error, undefined);
  });

  test('high sample rates are allowed fewer seconds: the resampler works per sample', () => {
    assert.equal(
      audioHeaderProblem({ sampleRate: 48_000, channels: 2, frames: MAX_AUDIO_SAMPLES }),
      undefined,
    );
    assert.match(
      audioHeaderProblem({ sampleRate: 192_000, channels: 1, frames: 192_000 * 76 }) ?? '',
      /samples per channel \(76 seconds at 192000 Hz\), over the limit of 14400000 \(5 minutes at 48 kHz\)/,
    );
  });

  test('an empty file says the audio file is empty', async () => {
    for (const name of ['empty.wav', 'empty.mp3', 'empty.flac']) {
      const { error } = await decodeBytes(name, new Uint8Array(0));
      assert.equal((error as { code?: string }).code, 'input');
      assert.match((error as Error).message, /: the audio file is empty$/);
    }
  });

  test('the resampler itself refuses a rate no decoder would pass', () => {
    assert.throws(
      () => resample({ samples: new Float32Array(10), sampleRate: 0xffffffff }, 16_000),
      /outside the supported/,
    );
  });
});

describe('long recordings', () => {
  test('resampling a minute of 48 kHz audio lets the event loop run, and stops when its task is cancelled', async () => {
    const path = join(temporarySink().dir, 'minute.wav');
    await writeFile(path, encodeWav(tone(440, 48_000, 60)));
    const worstGap = await worstEventLoopGap(async () => {
      const audio = await decodeAudio(path, 16_000);
      assert.equal(audio.samples.length, 960_000);
    });
    // Slices of ~10-30 ms; loose for a busy machine, far below the ~1 s the whole conversion takes.
    assert.ok(worstGap < 300, `the event loop was held ${Math.round(worstGap)} ms`);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const started = performance.now();
    await assert.rejects(decodeAudio(path, 16_000, controller.signal), { code: 'cancelled' });
    assert.ok(performance.now() - started < 500, 'it stopped at the next slice');
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
