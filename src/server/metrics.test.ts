import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { loopDelayMs } from './metrics.js';

describe('event-loop delay', () => {
  it('reads a 60 ms block as about 60 ms of delay: the timer interval is taken off the histogram', async () => {
    const histogram = monitorEventLoopDelay({ resolution: 10 });
    histogram.enable();
    await sleep(30);
    const until = performance.now() + 60;
    while (performance.now() < until) {
      // the event loop is blocked
    }
    await sleep(30);
    histogram.disable();
    const raw = histogram.max / 1e6;
    // The histogram records the time between firings: the block plus the 10 ms interval.
    assert.ok(raw >= 60, `the histogram's max is ${raw} ms`);
    assert.equal(loopDelayMs(histogram.max, 10), raw - 10);
  });

  it('reads a timer that fired on time, or early, as no delay', () => {
    assert.equal(loopDelayMs(9.2e6, 10), 0);
    assert.equal(loopDelayMs(10e6, 10), 0);
    assert.equal(loopDelayMs(12.5e6, 10), 2.5);
  });
});
