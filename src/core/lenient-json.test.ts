import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { firstJsonValue } from './lenient-json.js';

describe('firstJsonValue', () => {
  test('reads the JSON an LLM wrote among prose, fences, thinking and sloppy syntax', () => {
    // "[sic]" parses as a list; a caller that wants an object says so and gets the object after it.
    const isObject = (value: unknown) => typeof value === 'object' && value !== null && !Array.isArray(value);
    const reply = 'Sure [sic]: {"choices": [{"task_id": 0, "model": "a:b",}]} hope it helps';
    assert.deepEqual(firstJsonValue(reply), ['sic']);
    assert.deepEqual(firstJsonValue(reply, isObject), { choices: [{ task_id: 0, model: 'a:b' }] });
    assert.deepEqual(firstJsonValue("<think>{'draft': 1}</think>```json\n{'pick': 'it's fine'}\n```"), {
      pick: "it's fine",
    });
    assert.deepEqual(firstJsonValue('[1, 2'), [1, 2]);
  });

  test('a reply with no JSON object or list gives undefined', () => {
    assert.equal(firstJsonValue('I would pick the second model.'), undefined);
    assert.equal(firstJsonValue(''), undefined);
  });
});
