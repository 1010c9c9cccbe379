import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TaskResult } from '../core/events.js';
import { describeResults } from './index.js';

test('the answer prompt says how an OCR result was read, beside the words, which stay as they were read', () => {
  const read: TaskResult = {
    id: 0,
    task: 'image-to-text',
    args: { image: '/work/sign.jpg' },
    model: 'paddle-ocr',
    backend: 'local',
    reason: 'the only local OCR',
    startedAt: 1,
    endedAt: 2,
    durationMs: 1,
    status: 'succeeded',
    output: {
      text: 'Cat Cafe\nOpen 9-17',
      how: 'scene text (2 lines found and read by PaddleOCR)',
      data: { reader: 'paddleocr' },
    },
    error: null,
  };
  const { json } = describeResults(
    [{ id: 0, task: 'image-to-text', dep: [-1], args: { image: 'sign.jpg' } }],
    [read],
    ['/work'],
  );
  const [entry] = JSON.parse(json) as Record<string, unknown>[];
  assert.equal(entry?.how, 'scene text (2 lines found and read by PaddleOCR)');
  assert.equal(entry?.text, 'Cat Cafe\nOpen 9-17');
  assert.equal(entry?.data, undefined, 'the data is left out when there is text');
});
