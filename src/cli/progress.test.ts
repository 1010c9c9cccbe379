import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RunEvent } from '../core/events.js';
import { foldRunEvents } from '../core/run-state.js';
import { renderProgress } from './progress.js';

test('the terminal shows what an OCR task read and, beneath it, how it read it', () => {
  const events: RunEvent[] = [
    { type: 'run-start', runId: 'r1', request: 'read sign.jpg', at: 0 },
    {
      type: 'plan-done',
      plan: [{ id: 0, task: 'image-to-text', dep: [-1], args: { image: 'sign.jpg' } }],
      source: 'given',
      at: 1,
    },
    { type: 'task-start', taskId: 0, task: 'image-to-text', model: 'paddle-ocr', backend: 'local', at: 2 },
    {
      type: 'task-end',
      result: {
        id: 0,
        task: 'image-to-text',
        args: { image: 'sign.jpg' },
        model: 'paddle-ocr',
        backend: 'local',
        reason: 'default',
        startedAt: 2,
        endedAt: 3,
        durationMs: 1,
        status: 'succeeded',
        output: { text: 'Cat Cafe Open 9-17', how: 'scene text (2 lines found and read by PaddleOCR)' },
        error: null,
      },
      at: 3,
    },
  ];
  const screen = renderProgress(foldRunEvents(events), '/work', 4);
  const lines = screen.split('\n');
  const read = lines.findIndex((line) => line.includes('→ Cat Cafe Open 9-17'));
  assert.ok(read >= 0, screen);
  assert.match(lines[read + 1] ?? '', /\(scene text \(2 lines found and read by PaddleOCR\)\)/);
});
