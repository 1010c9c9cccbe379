import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, test } from 'node:test';
import sharp from 'sharp';
import { createLocalBackend } from '../index.js';
import { fixture, NO_FIXTURES, request } from '../test-support.js';

// One backend for the whole file: the models load once and later tests run warm.
const backend = createLocalBackend();

interface DetectionData {
  detections: {
    label: string;
    score: number;
    box: { xmin: number; ymin: number; xmax: number; ymax: number };
  }[];
  counts: Record<string, number>;
  width: number;
  height: number;
}

const image = (name: string) => ({ image: { path: fixture('images', name), mimeType: 'image/jpeg' } });

describe('object detection (human-centernet)', { skip: NO_FIXTURES }, () => {
  test('finds the zebra in b.jpg and draws it on an annotated PNG', async () => {
    const progress: string[] = [];
    const output = await backend.infer(
      request('object-detection', 'human-centernet', image('b.jpg'), {
        onProgress: (message) => progress.push(message),
      }),
    );
    const data = output.data as DetectionData;
    assert.ok((data.counts.zebra ?? 0) >= 1, `counts: ${JSON.stringify(data.counts)}`);
    assert.match(output.text ?? '', /\b1 zebra\b/);
    assert.ok(
      progress.some((message) => message.startsWith('loading centernet')),
      progress.join(' | '),
    );
    const zebra = data.detections.find((detection) => detection.label === 'zebra');
    assert.ok(
      zebra &&
        zebra.box.xmin < zebra.box.xmax &&
        zebra.box.xmax <= data.width &&
        zebra.box.ymax <= data.height,
    );
    const artifact = output.artifacts?.[0];
    assert.equal(artifact?.mimeType, 'image/png');
    const meta = await sharp(await readFile(artifact?.path ?? '')).metadata();
    assert.equal(meta.format, 'png');
    assert.equal(meta.width, data.width);
  });

  test('counts zebras and a giraffe in f.jpg, most frequent first', async () => {
    const progress: string[] = [];
    const output = await backend.infer(
      request('object-detection', 'human-centernet', image('f.jpg'), {
        onProgress: (message) => progress.push(message),
      }),
    );
    const data = output.data as DetectionData;
    assert.ok((data.counts.zebra ?? 0) >= 2, `counts: ${JSON.stringify(data.counts)}`);
    assert.ok((data.counts.giraffe ?? 0) >= 1, `counts: ${JSON.stringify(data.counts)}`);
    assert.match(output.text ?? '', /^\d+ zebras, \d+ giraffes?/);
    assert.deepEqual(progress, [], 'a warm model reports no loading');
  });

  test('concurrent detections on the same model all succeed with their own results', async () => {
    const outputs = await Promise.all(
      ['b.jpg', 'f.jpg', 'b.jpg'].map((name) =>
        backend.infer(request('object-detection', 'human-centernet', image(name))),
      ),
    );
    const zebras = outputs.map((output) => (output.data as DetectionData).counts.zebra ?? 0);
    assert.equal(zebras[0], zebras[2]);
    assert.ok((zebras[1] ?? 0) >= 2);
  });

  test('a file that is not an image fails with a clear inference error', async () => {
    await assert.rejects(
      backend.infer(
        request('object-detection', 'human-centernet', {
          image: { path: fixture('audio', 'transcription'), mimeType: 'image/png' },
        }),
      ),
      { code: 'inference', message: /Cannot read the image/ },
    );
  });
});
