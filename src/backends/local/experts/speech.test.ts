import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { createLocalBackend } from '../index.js';
import { findExecutable, runCommand } from '../support/system.js';
import { parseWav } from '../support/wav.js';
import { wordErrorRate } from '../support/word-error-rate.js';
import { fixture, NO_FIXTURES, request, temporarySink } from '../test-support.js';

const backend = createLocalBackend();

const SENTENCE = 'Please read this document aloud and tell me the weather in Paris tomorrow.';

const flite = await findExecutable('flite');
const pocketsphinx = (await backend.listModels('automatic-speech-recognition'))[0];
const NO_ASR = pocketsphinx?.available ? false : `pocketsphinx is not installed: ${pocketsphinx?.reason}`;
const ffmpeg = await findExecutable('ffmpeg');

async function speak(modelId: string, text: string) {
  const output = await backend.infer(request('text-to-speech', modelId, { text }));
  const artifact = output.artifacts?.[0];
  assert.ok(artifact, 'a WAV artifact');
  return { output, artifact, audio: parseWav(await readFile(artifact.path)) };
}

async function transcribe(path: string, mimeType = 'audio/wav') {
  return backend.infer(
    request('automatic-speech-recognition', 'pocketsphinx-en-us', { audio: { path, mimeType } }),
  );
}

describe('text-to-speech', () => {
  test('flite in WebAssembly speaks a sentence into a 16 kHz WAV without any system package', async () => {
    const { output, artifact, audio } = await speak('flite-wasm', SENTENCE);
    assert.equal(artifact.mimeType, 'audio/wav');
    assert.equal(artifact.kind, 'audio');
    assert.equal(audio.sampleRate, 16_000);
    const seconds = audio.samples.length / audio.sampleRate;
    // About 13 words at a normal speaking rate.
    assert.ok(seconds > 2.5 && seconds < 9, `${seconds} s`);
    assert.match(output.text ?? '', /^Synthesized \d+(\.\d)? s of speech\.$/);
  });

  test('Debian flite speaks the same sentence', {
    skip: flite ? false : 'flite is not installed (sudo apt-get install flite)',
  }, async () => {
    const { audio } = await speak('flite', SENTENCE);
    const seconds = audio.samples.length / audio.sampleRate;
    assert.ok(seconds > 2.5 && seconds < 9, `${seconds} s`);
  });

  test('flite in WebAssembly keeps working over many calls, in a row and at once', async () => {
    // Regression: WASI instances run in the main thread crashed Node 20 after about five calls.
    for (let index = 0; index < 8; index += 1) await speak('flite-wasm', `Sentence number ${index}.`);
    const together = await Promise.all(
      [1, 2, 3].map((index) => speak('flite-wasm', `Parallel sentence ${index}.`)),
    );
    assert.ok(together.every(({ audio }) => audio.samples.length > 8000));
  });

  test('an empty text is an error, not a silent file', async () => {
    await assert.rejects(backend.infer(request('text-to-speech', 'flite-wasm', { text: '  ' })), {
      code: 'inference',
      message: /needs a text input/,
    });
  });
});

describe('speech recognition (pocketsphinx-en-us)', { skip: NO_ASR }, () => {
  test('text-to-speech then recognition of that audio returns most of the words', async () => {
    const { artifact } = await speak('flite-wasm', SENTENCE);
    const output = await transcribe(artifact.path);
    const { rate } = wordErrorRate(SENTENCE, output.text ?? '');
    assert.ok(rate <= 0.4, `word error rate ${rate}: "${output.text}"`);
    assert.match(output.text ?? '', /weather in paris tomorrow/);
  });

  test('transcribes real read speech from an audiobook', { skip: NO_FIXTURES }, async () => {
    const output = await transcribe(fixture('audio', 'sense_and_sensibility_01_austen_64kb-0920.wav'));
    const reference =
      'had he married a more amiable woman he might have been made still more respectable than he was';
    const { rate } = wordErrorRate(reference, output.text ?? '');
    // PocketSphinx gets roughly two words in three right on read speech; this clip is one of its better ones.
    assert.ok(rate <= 0.4, `word error rate ${rate}: "${output.text}"`);
    const data = output.data as { seconds: number };
    assert.ok(data.seconds > 1 && data.seconds < 10);
  });

  test('reads MP3, Ogg Vorbis and Opus input', {
    skip: ffmpeg ? false : 'ffmpeg is not installed to make the MP3/Ogg inputs (sudo apt-get install ffmpeg)',
  }, async () => {
    const { artifact } = await speak('flite-wasm', SENTENCE);
    const dir = temporarySink().dir;
    for (const [name, codec] of [
      ['speech.mp3', ['-c:a', 'libmp3lame', '-b:a', '64k', '-ar', '44100', '-ac', '2']],
      ['speech.ogg', ['-c:a', 'libvorbis', '-q:a', '4', '-ar', '22050']],
      // Opus has no JavaScript decoder here: this one goes through ffmpeg.
      ['speech.opus', ['-c:a', 'libopus', '-b:a', '32k']],
    ] as const) {
      const path = join(dir, name);
      await runCommand(ffmpeg as string, [
        '-nostdin',
        '-loglevel',
        'error',
        '-i',
        artifact.path,
        ...codec,
        path,
      ]);
      const output = await transcribe(path, name.endsWith('.mp3') ? 'audio/mpeg' : 'audio/ogg');
      const { rate } = wordErrorRate(SENTENCE, output.text ?? '');
      assert.ok(rate <= 0.4, `${name}: word error rate ${rate}: "${output.text}"`);
    }
  });
});
