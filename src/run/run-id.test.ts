import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { newRunId } from './index.js';

describe('run ids', () => {
  it('stay distinct for 200,000 runs started in the same second', () => {
    const second = new Date('2026-12-02T13:30:00Z');
    const ids = new Set<string>();
    for (let i = 0; i < 200_000; i++) ids.add(newRunId(second));
    assert.equal(ids.size, 200_000);
  });

  it('sort by the time the run started and name it', () => {
    assert.match(newRunId(new Date('2026-12-02T13:30:05.120Z')), /^20261202-133005-[0-9a-f]{12}$/);
    assert.ok(newRunId(new Date('2026-12-02T13:30:05Z')) < newRunId(new Date('2026-12-02T13:30:06Z')));
  });
});
