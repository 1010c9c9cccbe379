import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { retryAfterMs } from './retry-after.js';

describe('Retry-After', () => {
  test('seconds and HTTP dates both become milliseconds from now', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    assert.equal(retryAfterMs('7', now), 7000);
    assert.equal(retryAfterMs('0', now), 0);
    assert.equal(retryAfterMs('Wed, 02 Dec 2026 12:00:30 GMT', now), 30_000);
    assert.equal(retryAfterMs('Wed, 02 Dec 2026 11:59:00 GMT', now), 0, 'a date in the past: at once');
  });

  test('a missing, negative or unreadable header is no hint', () => {
    for (const header of [undefined, null, '', '-3', 'soon']) assert.equal(retryAfterMs(header), undefined);
  });
});
