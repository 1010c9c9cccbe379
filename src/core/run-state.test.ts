import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fixture } from '../../test/support/fixtures.js';
import { createTestBackend } from '../../test/support/test-backend.js';
import { configSchema } from '../config/schema.js';
import { createJarvis } from '../run/index.js';
import type { RunEvent } from './events.js';
import { applyRunEvent, emptyRunState, foldRunEvents } from './run-state.js';

test('folding a real run’s events gives each task the status, model and result the run reported', async () => {
  const vision = createTestBackend({
    id: 'vision',
    latencyMs: 5,
    tasks: ['object-detection', 'image-to-text'],
    failOn: ['image-to-text'],
  });
  const config = configSchema.parse({
    dataDir: mkdtempSync(join(tmpdir(), 'jarvis-run-state-')),
    select: { strategy: 'top' },
  });
  const jarvis = await createJarvis(config, { controller: null, backends: [vision], sources: [] });
  const events: RunEvent[] = [];
  try {
    const result = await jarvis.run({
      request: 'fold me',
      plan: [
        { id: 0, task: 'image-to-text', dep: [-1], args: { image: fixture('images', 'a.jpg') } },
        { id: 1, task: 'object-detection', dep: [-1], args: { image: fixture('images', 'b.jpg') } },
        { id: 2, task: 'summarization', dep: [0], args: { text: '<GENERATED>-0' } },
      ],
      answer: false,
      onEvent: (event) => events.push(event),
    });
    assert.deepEqual(
      result.tasks.map((task) => task.status),
      ['failed', 'succeeded', 'skipped'],
    );
    const state = foldRunEvents(events);
    assert.equal(state.stage, 'done');
    assert.equal(state.planSource, 'given');
    assert.deepEqual(state.result, result);
    for (const task of result.tasks) {
      const folded = state.tasks.get(task.id);
      assert.ok(folded, `task ${task.id} missing`);
      assert.equal(folded.status, task.status);
      assert.equal(folded.model, task.model);
      assert.deepEqual(folded.result, task);
      assert.equal(folded.progress, null);
    }
    // Folding event by event gives the same state as folding them all at once.
    const stepwise = emptyRunState();
    for (const event of events) applyRunEvent(stepwise, event);
    assert.deepEqual(stepwise, state);
  } finally {
    await jarvis.close();
  }
});

test('a task shows its latest progress while it runs and none once it ended', () => {
  const state = emptyRunState();
  applyRunEvent(state, {
    type: 'plan-done',
    plan: [{ id: 0, task: 'summarization', dep: [-1], args: { text: 'x' } }],
    source: 'llm',
    at: 1,
  });
  assert.equal(state.stage, 'selecting');
  assert.equal(state.tasks.get(0)?.status, 'waiting');
  applyRunEvent(state, {
    type: 'task-start',
    taskId: 0,
    task: 'summarization',
    model: 'm',
    backend: 'b',
    at: 2,
  });
  assert.equal(
    applyRunEvent(state, { type: 'task-progress', taskId: 0, message: 'started on worker w1', at: 3 }),
    'tasks',
  );
  assert.equal(state.tasks.get(0)?.progress, 'started on worker w1');
  assert.equal(state.tasks.get(0)?.startedAt, 2);
  assert.equal(applyRunEvent(state, { type: 'response-delta', text: 'Hel', at: 4 }), 'answer');
  applyRunEvent(state, { type: 'response-delta', text: 'lo', at: 5 });
  assert.equal(state.answer, 'Hello');
});
