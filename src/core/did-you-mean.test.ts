import assert from 'node:assert/strict';
import { test } from 'node:test';
import { closestNames } from './did-you-mean.js';

test('the closest names come first, case-insensitively, and far ones are not offered', () => {
  assert.deepEqual(closestNames('kitee.jpg', ['kite.jpg', 'Kites.jpg', 'zebra.jpg', 'notes.txt']), [
    'kite.jpg',
    'Kites.jpg',
  ]);
  assert.deepEqual(closestNames('selct', ['select', 'execute', 'plan']), ['select']);
  assert.deepEqual(closestNames('giraffe.png', ['a.jpg', 'b.jpg']), []);
});

test('a name too long to be a typo, or a huge list, costs no quadratic work', () => {
  const long = 'a '.repeat(5000);
  assert.deepEqual(closestNames(long, ['a', long]), []);
  const many = Array.from({ length: 50_000 }, (_, index) => `file-${index}.png`);
  assert.deepEqual(closestNames('file-7.png', many, { limit: 100 }), [
    'file-7.png',
    'file-0.png',
    'file-1.png',
  ]);
});
