import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fixture, inferenceRequest, temporarySink } from '../../../../test/support/expert-requests.js';
import { audiobookClips } from '../../../../test/support/fixtures.js';
import { ended } from '../../../../test/support/processes.js';
import { findExecutable, runCommand } from '../../../core/processes.js';
import { encodeWav, parseWav } from '../../../media/wav.js';
import { createLocalBackend } from '../index.js';
import { MAX_SPEECH_CHARS, speakableText } from '../support/speech-text.js';
import { wordErrorRate } from '../support/word-error-rate.js';

const backend = createLocalBackend();

const SENTENCE = 'Please read this document aloud and tell me the weather in Paris tomorrow.';

const flite = await findExecutable('flite');
const recognizers = await backend.listModels('automatic-speech-recognition');
const pocketsphinx = recognizers.find((card) => card.id === 'pocketsphinx-en-us');
const NO_ASR = pocketsphinx?.available ? false : `pocketsphinx is not installed: ${pocketsphinx?.reason}`;
const moonshine = recognizers.find((card) => card.id === 'moonshine-tiny');
const ffmpeg = await findExecutable('ffmpeg');

async function speak(modelId: string, text: string) {
  const output = await backend.infer(inferenceRequest('text-to-speech', modelId, { text }));
  const artifact = output.artifacts?.[0];
  assert.ok(artifact, 'a WAV artifact');
  return { output, artifact, audio: parseWav(await readFile(artifact.path)) };
}

async function transcribe(path: string, mimeType = 'audio/wav', modelId = 'pocketsphinx-en-us') {
  return backend.infer(
    inferenceRequest('automatic-speech-recognition', modelId, { audio: { path, mimeType } }),
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
    await assert.rejects(backend.infer(inferenceRequest('text-to-speech', 'flite-wasm', { text: '  ' })), {
      code: 'inference',
      message: /needs a text input/,
    });
  });
});

describe('speech recognition (moonshine-tiny, the default)', () => {
  test('is the first recognizer listed and needs no system package', () => {
    assert.equal(recognizers[0]?.id, 'moonshine-tiny');
    assert.equal(moonshine?.available, true, moonshine?.reason);
  });

  test('transcribes the five audiobook clips almost word for word, with case and punctuation', async () => {
    let errors = 0;
    let words = 0;
    const heard: string[] = [];
    for (const { path, reference } of audiobookClips()) {
      const output = await transcribe(path, 'audio/wav', 'moonshine-tiny');
      heard.push(output.text ?? '');
      const result = wordErrorRate(reference, output.text ?? '');
      errors += result.errors;
      words += result.words;
    }
    // 71 words; pocketsphinx gets ~16 of them wrong. "Mr." for "mister" counts as one error.
    assert.ok(errors / words <= 0.1, `${errors} of ${words} words wrong: ${heard.join(' | ')}`);
    assert.ok(heard.includes('He might even have been made amiable himself.'), heard.join(' | '));
  });

  test("recognizes flite's synthetic voice", async () => {
    const { artifact } = await speak('flite-wasm', SENTENCE);
    const output = await transcribe(artifact.path, 'audio/wav', 'moonshine-tiny');
    const { rate } = wordErrorRate(SENTENCE, output.text ?? '');
    assert.ok(rate <= 0.4, `word error rate ${rate}: "${output.text}"`);
    // Trained on public-domain audiobooks, it sometimes spells "to-morrow".
    assert.match(output.text ?? '', /the weather in Paris to-?morrow/);
  });

  test('a 31 s recording is cut at a pause into two segments and every clip comes back, in order', async () => {
    const clips = audiobookClips();
    const pause = new Float32Array(24_000);
    const parts: Float32Array[] = [];
    for (const { path } of clips) parts.push(parseWav(await readFile(path)).samples, pause);
    const samples = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
    let offset = 0;
    for (const part of parts) {
      samples.set(part, offset);
      offset += part.length;
    }
    const path = join(temporarySink().dir, 'chapter.wav');
    await writeFile(path, encodeWav({ samples, sampleRate: 16_000 }));
    const output = await transcribe(path, 'audio/wav', 'moonshine-tiny');
    const data = output.data as { seconds: number; segments: number };
    assert.ok(data.seconds > 30 && data.seconds < 33, `${data.seconds} s`);
    assert.equal(data.segments, 2);
    const reference = clips.map((clip) => clip.reference).join(' ');
    const { rate } = wordErrorRate(reference, output.text ?? '');
    assert.ok(rate <= 0.1, `word error rate ${rate}: "${output.text}"`);
  });

  test('a cancelled recognition stops with "cancelled"', async () => {
    const controller = new AbortController();
    const path = fixture('audio', 'sense_and_sensibility_01_austen_64kb-0870.wav');
    const running = backend.infer(
      inferenceRequest(
        'automatic-speech-recognition',
        'moonshine-tiny',
        { audio: { path, mimeType: 'audio/wav' } },
        {
          signal: controller.signal,
          onProgress: (message) => {
            if (message.startsWith('recognizing')) controller.abort();
          },
        },
      ),
    );
    await assert.rejects(running, { code: 'cancelled' });
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
      const output = await transcribe(
        path,
        name.endsWith('.mp3') ? 'audio/mpeg' : 'audio/ogg',
        'moonshine-tiny',
      );
      const { rate } = wordErrorRate(SENTENCE, output.text ?? '');
      assert.ok(rate <= 0.4, `${name}: word error rate ${rate}: "${output.text}"`);
    }
  });
});

describe('speech recognition (pocketsphinx-en-us)', { skip: NO_ASR }, () => {
  test('a script that exits while the decoder loads leaves no pocketsphinx process behind', async () => {
    // The decoder loads its model for ~0.5 s before it opens the pipe it answers on; a process gone by then
    // used to leave it waiting for a reader forever.
    const script = `
      import { onChildProcess } from ${JSON.stringify(new URL('../../../core/processes.ts', import.meta.url).href)};
      import { createLocalBackend } from ${JSON.stringify(new URL('../index.ts', import.meta.url).href)};
      onChildProcess((child) => {
        console.log(JSON.stringify({ pid: child.pid }));
        process.exit(0);
      });
      createLocalBackend().infer({ task: 'automatic-speech-recognition', modelId: 'pocketsphinx-en-us',
        inputs: { audio: { path: ${JSON.stringify(fixture('audio', 'sense_and_sensibility_01_austen_64kb-0930.wav'))}, mimeType: 'audio/wav' } },
        artifacts: null, signal: new AbortController().signal });
    `;
    const { stdout } = await runCommand(process.execPath, [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    const { pid } = JSON.parse(stdout.toString('utf8').trim().split('\n').pop() ?? '{}') as { pid: number };
    assert.ok(pid > 0);
    assert.ok(
      await ended(pid),
      `pocketsphinx (pid ${pid}) still runs after the script that started it ended`,
    );
  });

  test('text-to-speech then recognition of that audio returns most of the words', async () => {
    const { artifact } = await speak('flite-wasm', SENTENCE);
    const output = await transcribe(artifact.path);
    const { rate } = wordErrorRate(SENTENCE, output.text ?? '');
    assert.ok(rate <= 0.4, `word error rate ${rate}: "${output.text}"`);
    assert.match(output.text ?? '', /weather in paris tomorrow/);
  });

  test('transcribes real read speech from an audiobook', async () => {
    const output = await transcribe(fixture('audio', 'sense_and_sensibility_01_austen_64kb-0920.wav'));
    const reference =
      'had he married a more amiable woman he might have been made still more respectable than he was';
    const { rate } = wordErrorRate(reference, output.text ?? '');
    // PocketSphinx gets roughly two words in three right on read speech; this clip is one of its better ones.
    assert.ok(rate <= 0.4, `word error rate ${rate}: "${output.text}"`);
    const data = output.data as { seconds: number };
    assert.ok(data.seconds > 1 && data.seconds < 10);
  });
});

describe('without the Debian packages', () => {
  test('flite and pocketsphinx are listed unavailable with the install command; flite-wasm and moonshine still work', async () => {
    // A child process with an empty PATH sees a machine where neither flite nor pocketsphinx is installed.
    const script = `
      import { createLocalBackend } from ${JSON.stringify(new URL('../index.ts', import.meta.url).href)};
      const backend = createLocalBackend();
      const cards = [...(await backend.listModels('text-to-speech')), ...(await backend.listModels('automatic-speech-recognition'))];
      const heard = await backend.infer({ task: 'automatic-speech-recognition', modelId: 'moonshine-tiny',
        inputs: { audio: { path: ${JSON.stringify(fixture('audio', 'sense_and_sensibility_01_austen_64kb-0930.wav'))}, mimeType: 'audio/wav' } },
        artifacts: null, signal: new AbortController().signal });
      let error;
      try {
        await backend.infer({ task: 'automatic-speech-recognition', modelId: 'pocketsphinx-en-us', inputs: {},
          artifacts: null, signal: new AbortController().signal });
      } catch (caught) { error = { code: caught.code, message: caught.message }; }
      console.log(JSON.stringify({ cards: cards.map(({ id, available, reason }) => ({ id, available, reason })), error, heard: heard.text }));
    `;
    const { stdout } = await runCommand(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        env: { ...process.env, PATH: '' },
      },
    );
    const { cards, error, heard } = JSON.parse(stdout.toString('utf8').trim().split('\n').pop() ?? '{}') as {
      cards: { id: string; available: boolean; reason?: string }[];
      error: { code: string; message: string };
      heard: string;
    };
    assert.equal(heard, 'He might even have been made amiable himself.');
    const card = (id: string) => cards.find((entry) => entry.id === id);
    assert.equal(card('flite')?.available, false);
    assert.equal(card('flite')?.reason, 'needs the Debian package flite: sudo apt-get install flite');
    assert.equal(card('flite-wasm')?.available, true);
    assert.equal(card('moonshine-tiny')?.available, true);
    assert.equal(card('pocketsphinx-en-us')?.available, false);
    assert.match(
      card('pocketsphinx-en-us')?.reason ?? '',
      /sudo apt-get install pocketsphinx pocketsphinx-en-us \(macOS: brew install cmu-pocketsphinx\)$/,
    );
    assert.equal(error.code, 'model-unavailable');
    assert.match(
      error.message,
      /pocketsphinx-en-us is unavailable: needs pocketsphinx and its US English model/,
    );
  });
});

describe('long texts to speak', () => {
  test('a 1 MB text is cut to its first 2,000 characters at a sentence end, so its speech stays under 5 minutes', () => {
    const sentence = 'The quick brown fox jumps over the lazy dog near the river bank. ';
    const text = sentence.repeat(Math.ceil(1_000_000 / sentence.length));
    const started = performance.now();
    const spoken = speakableText(text);
    assert.ok(performance.now() - started < 500, 'only the start is cleaned');
    assert.equal(spoken.truncated, true);
    assert.ok(spoken.text.length <= MAX_SPEECH_CHARS && spoken.text.length > MAX_SPEECH_CHARS / 2);
    assert.ok(spoken.text.endsWith('bank.'), spoken.text.slice(-20));
    // flite reads ~16 characters a second: 2,000 characters are ~2 minutes, inside the 300 s audio limit.
    assert.ok(MAX_SPEECH_CHARS / 16 < 300);
    assert.deepEqual(speakableText('Hello there.'), { text: 'Hello there.', truncated: false });
  });
});
