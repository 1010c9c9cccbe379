import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CancelledError } from '../core/errors.js';
import { admissionLimits, createAdmission, type Slot, TooManyRunsError } from './admission.js';

describe('admission', () => {
  test('waiting keys are served in turn: a key with many runs queued does not hold another key back', async () => {
    const admission = createAdmission({ maxRunning: 1, maxQueued: 10, maxRunningPerKey: undefined });
    const holder = await admission.acquire('busy');
    const order: string[] = [];
    const slots: Slot[] = [];
    for (const key of ['busy', 'busy', 'busy', 'other']) {
      void admission.acquire(key).then((slot) => {
        order.push(key);
        slots.push(slot);
      });
    }
    let current = holder;
    for (let index = 0; index < 4; index++) {
      current.release();
      // A release grants the next waiter at once, in the round robin's order.
      await new Promise((resolve) => setImmediate(resolve));
      current = slots[index]!;
    }
    assert.deepEqual(order, ['busy', 'other', 'busy', 'busy']);
    assert.equal(admission.stats().running, 1);
  });

  test('a per-key bound lets another key start while the first waits for its own slots', async () => {
    const admission = createAdmission({ maxRunning: 4, maxQueued: 10, maxRunningPerKey: 2 });
    await admission.acquire('a');
    await admission.acquire('a');
    let thirdOfA = false;
    void admission.acquire('a').then(() => {
      thirdOfA = true;
    });
    const ofB = await admission.acquire('b');
    assert.equal(ofB.key, 'b');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(thirdOfA, false);
    assert.deepEqual(
      { running: admission.stats().running, queued: admission.stats().queued },
      { running: 3, queued: 1 },
    );
  });

  test('a full queue refuses at once with an estimate of when to retry; a cancelled wait leaves the queue', async () => {
    const admission = createAdmission({ maxRunning: 1, maxQueued: 1, maxRunningPerKey: undefined });
    await admission.acquire('a');
    const gone = new AbortController();
    const waiting = admission.acquire('a', gone.signal);
    await assert.rejects(admission.acquire('b'), (error: unknown) => {
      assert.ok(error instanceof TooManyRunsError);
      assert.equal(error.code, 'too-many-runs');
      assert.ok(Number(error.context.retryAfterSeconds) >= 1);
      return true;
    });
    gone.abort();
    await assert.rejects(waiting, CancelledError);
    assert.equal(admission.stats().queued, 0);
    assert.equal(admission.stats().refused, 1);
  });

  test('the default bound is sized to the machine, with a queue of four waiting runs per slot', () => {
    const limits = admissionLimits({});
    assert.ok(limits.maxRunning >= 64);
    assert.equal(limits.maxQueued, 4 * limits.maxRunning);
    assert.equal(limits.maxRunningPerKey, undefined);
    assert.deepEqual(admissionLimits({ maxRunningRuns: 2, maxQueuedRuns: 0, maxConcurrentRunsPerKey: 1 }), {
      maxRunning: 2,
      maxQueued: 0,
      maxRunningPerKey: 1,
    });
  });
});
