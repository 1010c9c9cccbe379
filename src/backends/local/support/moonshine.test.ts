import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { segmentsOf } from './moonshine.js';

const RATE = 16_000;

/** A 440 Hz tone, silent over [quietFrom, quietTo) seconds. */
function toneWithGap(seconds: number, quietFrom: number, quietTo: number): Float32Array {
  const samples = new Float32Array(seconds * RATE);
  for (let index = 0; index < samples.length; index++) {
    const time = index / RATE;
    samples[index] = time >= quietFrom && time < quietTo ? 0 : 0.3 * Math.sin(2 * Math.PI * 440 * time);
  }
  return samples;
}

describe('segments of a long recording', () => {
  test('a recording of 25 s or less is decoded whole', () => {
    const samples = toneWithGap(25, 10, 11);
    const segments = segmentsOf(samples);
    assert.equal(segments.length, 1);
    assert.equal(segments[0]?.length, samples.length);
  });

  test('a 60 s recording is cut inside its pauses, into pieces of at most 25 s that add up to the whole', () => {
    // Pauses at 20 s and 42 s: both lie in the last 8 s of a 25 s window.
    const samples = toneWithGap(60, 20, 20.4);
    for (let index = 42 * RATE; index < 42.4 * RATE; index++) samples[index] = 0;
    const segments = segmentsOf(samples);
    assert.equal(segments.length, 3);
    assert.ok(segments.every((segment) => segment.length <= 25 * RATE));
    assert.equal(
      segments.reduce((sum, segment) => sum + segment.length, 0),
      samples.length,
    );
    const firstCut = (segments[0]?.length ?? 0) / RATE;
    const secondCut = firstCut + (segments[1]?.length ?? 0) / RATE;
    assert.ok(firstCut > 20 && firstCut < 20.4, `first cut at ${firstCut} s`);
    assert.ok(secondCut > 42 && secondCut < 42.4, `second cut at ${secondCut} s`);
  });

  test('speech without any pause is still cut, at 25 s at most', () => {
    const segments = segmentsOf(toneWithGap(70, 0, 0));
    assert.ok(segments.length >= 3);
    assert.ok(segments.every((segment) => segment.length <= 25 * RATE && segment.length > 0));
  });
});
