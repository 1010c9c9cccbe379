// Experts that find nothing say so as data: the task succeeds with a sentence for the answer, and a task that
// would read its text is skipped with the reason instead of being fed that sentence. Real local experts.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import sharp from 'sharp';
import { configSchema } from '../src/config/schema.js';
import type { TaskResult } from '../src/core/events.js';
import { createJarvis, type Jarvis } from '../src/run/index.js';
import { wavDeclaring } from './support/hostile-media.js';

let work: string;
let jarvis: Jarvis;

before(async () => {
  work = mkdtempSync(join(tmpdir(), 'jarvis-nothing-found-'));
  await sharp({ create: { width: 480, height: 320, channels: 3, background: '#f4f1ea' } })
    .png()
    .toFile(join(work, 'blank.png'));
  writeFileSync(join(work, 'silence.wav'), wavDeclaring({ dataBytes: 32_000 }));
  const config = configSchema.parse({
    dataDir: join(work, '.jarvis'),
    select: { strategy: 'top' },
    inference: { mode: 'local', offline: true },
    experts: { workers: 1 },
  });
  jarvis = await createJarvis(config, { controller: null, sources: [] });
});
after(() => jarvis?.close());

const byId = (tasks: TaskResult[], id: number) => tasks.find((task) => task.id === id)!;

test('OCR, detection, speech recognition and NER that find nothing say so, and their readers are skipped', async () => {
  const result = await jarvis.run({
    request: 'read what is in these files',
    cwd: work,
    answer: false,
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'blank.png' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
      { id: 2, task: 'automatic-speech-recognition', dep: [1], args: { audio: '<GENERATED>-1' } },
      { id: 3, task: 'object-detection', dep: [-1], args: { image: 'blank.png' } },
      { id: 4, task: 'automatic-speech-recognition', dep: [-1], args: { audio: 'silence.wav' } },
      { id: 5, task: 'text-classification', dep: [4], args: { text: '<GENERATED>-4' } },
      { id: 6, task: 'token-classification', dep: [-1], args: { text: 'the cat sat on the mat and slept' } },
      { id: 7, task: 'text-to-speech', dep: [6], args: { text: '<GENERATED>-6' } },
    ],
  });
  const ocr = byId(result.tasks, 0);
  assert.equal(ocr.status, 'succeeded', JSON.stringify(ocr.error));
  assert.equal(ocr.output?.nothingFound, 'no printed text was found in blank.png');
  assert.match(ocr.output?.text ?? '', /No printed text was found in blank\.png/);

  const speech = byId(result.tasks, 1);
  assert.equal(speech.status, 'skipped');
  assert.equal(
    speech.error?.message,
    'skipped: no printed text was found in blank.png (task 0 (image-to-text)), so there is no text to pass on',
  );
  // Further down the chain the reason still names what was not found, not a failure.
  assert.match(byId(result.tasks, 2).error?.message ?? '', /because task 0 \(image-to-text\) found nothing/);

  const detection = byId(result.tasks, 3);
  assert.equal(detection.status, 'succeeded');
  assert.equal(detection.output?.nothingFound, 'no objects were found in blank.png');
  assert.equal(detection.output?.artifacts?.length, 1, 'the (empty) annotated image is still there');

  const asr = byId(result.tasks, 4);
  assert.equal(asr.status, 'succeeded', JSON.stringify(asr.error));
  assert.equal(asr.output?.nothingFound, 'no speech was recognized in silence.wav');
  assert.match(byId(result.tasks, 5).error?.message ?? '', /no speech was recognized in silence\.wav/);

  const ner = byId(result.tasks, 6);
  assert.equal(ner.output?.nothingFound, 'no named entities were found in the text');
  assert.equal(byId(result.tasks, 7).status, 'skipped');
});

test('pose, person segmentation and straight lines that find nothing say so, and their readers are skipped', async () => {
  const result = await jarvis.run({
    request: 'look for people and lines in blank.png',
    cwd: work,
    answer: false,
    plan: [
      { id: 0, task: 'openpose-control', dep: [-1], args: { image: 'blank.png' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
      { id: 2, task: 'image-segmentation', dep: [-1], args: { image: 'blank.png' } },
      { id: 3, task: 'mlsd-control', dep: [-1], args: { image: 'blank.png' } },
    ],
  });
  const pose = byId(result.tasks, 0);
  assert.equal(pose.status, 'succeeded', JSON.stringify(pose.error));
  assert.equal(pose.output?.nothingFound, 'no person was found in blank.png');
  assert.equal(
    byId(result.tasks, 1).error?.message,
    'skipped: no person was found in blank.png (task 0 (openpose-control)), so there is no text to pass on',
  );
  const segmentation = byId(result.tasks, 2);
  assert.equal(segmentation.status, 'succeeded', JSON.stringify(segmentation.error));
  assert.equal(segmentation.output?.nothingFound, 'no person or foreground figure was found in blank.png');
  const lines = byId(result.tasks, 3);
  assert.equal(lines.status, 'succeeded', JSON.stringify(lines.error));
  assert.equal(lines.output?.nothingFound, 'no straight lines were found in blank.png');
});

test('an empty input file is named as empty, before any expert tries to decode it', async () => {
  writeFileSync(join(work, 'empty.wav'), '');
  writeFileSync(join(work, 'empty.png'), '');
  const result = await jarvis.run({
    request: 'transcribe and look',
    cwd: work,
    answer: false,
    plan: [
      { id: 0, task: 'automatic-speech-recognition', dep: [-1], args: { audio: 'empty.wav' } },
      { id: 1, task: 'object-detection', dep: [-1], args: { image: 'empty.png' } },
    ],
  });
  for (const [id, name, kind] of [
    [0, 'empty.wav', 'audio'],
    [1, 'empty.png', 'image'],
  ] as const) {
    const task = byId(result.tasks, id);
    assert.equal(task.status, 'failed');
    assert.equal(task.error?.message, `${name} is empty (0 bytes): there is no ${kind} in it`);
  }
});
