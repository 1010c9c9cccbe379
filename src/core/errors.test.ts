import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { redact } from './errors.js';

describe('redact', () => {
  test('hides API keys, bearer tokens and key parameters', () => {
    const text =
      'key sk-proj-abcdefghijklmnop, token hf_abcdefghijklmnopqrstuv, header Bearer eyJhbGciOi.x, url https://x/?api_key=secret123&a=1';
    const out = redact(text);
    assert.doesNotMatch(out, /abcdefghijklmnop|hf_abcdefghijkl|eyJhbGciOi|secret123/);
    assert.match(out, /Bearer \*\*\*/);
    assert.match(out, /api_key=\*\*\*&a=1/);
  });

  test('hides the exact secrets it is given', () => {
    assert.equal(redact('the key is plainsecret!', ['plainsecret']), 'the key is ***!');
  });

  test('leaves backend and model names alone', () => {
    const text = 'No runnable model: hf-inference:blaze999/Medical-NER (hf-inference is a backend), pk_1';
    assert.equal(redact(text), text);
  });
});
