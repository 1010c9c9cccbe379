import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatSummary, runFuzz } from './plan-fuzzer.js';

// A fixed slice of `npm run fuzz` (which runs 10,000 cases): the same 500 replies and plans on every run.
test('500 fuzzed LLM replies and plans: no uncaught exception, no hang, no invalid plan accepted', async () => {
  const summary = await runFuzz({ seed: 15, count: 500, workers: 2, deadlineMs: 5_000 });
  console.log(formatSummary(summary));
  assert.equal(summary.cases, 500);
  assert.deepEqual(summary.uncaught, []);
  assert.deepEqual(summary.hangs, []);
  assert.deepEqual(summary.invalidAccepted, []);
  // `npm run fuzz` holds every case to 100 ms; here, beside the rest of the suite on a busy machine, a case
  // may wait for the CPU, so only a case far slower than that fails the test.
  assert.ok(summary.slowest === undefined || summary.slowest.ms < 1_000, formatSummary(summary));
});
