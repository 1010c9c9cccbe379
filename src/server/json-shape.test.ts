import assert from 'node:assert/strict';
import { test } from 'node:test';
import { JsonShapeScanner, jsonShapeProblem, MAX_JSON_DEPTH } from './json-shape.js';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

const CASES: [string, boolean][] = [
  [JSON.stringify({ a: [1, { b: 'x' }], c: 'quote " and backslash \\ and [[[[' }), false],
  [JSON.stringify({ text: `${'\\'.repeat(5)}"${'['.repeat(40)}` }), false],
  [JSON.stringify({ text: '\\\\' }) + nested(MAX_JSON_DEPTH), false],
  [nested(MAX_JSON_DEPTH + 1), true],
  [`{"a":"\\"${'['.repeat(40)}"}`, false],
  [`{"a":"x\\\\"${'['.repeat(40)}`, true],
];

test('bodies nested too deep are refused, brackets inside strings (escaped quotes and all) are not counted', () => {
  for (const [text, refused] of CASES) assert.equal(jsonShapeProblem(text) !== undefined, refused, text);
});

test('a body cut into pieces anywhere is judged as the whole body', () => {
  for (const [text, refused] of CASES) {
    for (let cut = 0; cut <= text.length; cut += 1) {
      for (const second of [cut, Math.min(text.length, cut + 1), Math.min(text.length, cut + 2)]) {
        const scanner = new JsonShapeScanner();
        const problem =
          scanner.push(text.slice(0, cut)) ??
          scanner.push(text.slice(cut, second)) ??
          scanner.push(text.slice(second));
        assert.equal(problem !== undefined, refused, `${text} cut at ${cut} and ${second}`);
      }
    }
  }
});
