import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fixture } from '../../test/support/fixtures.js';
import { contentType, levenshteinRatio, scoreTaskBench, type TaskBenchTool } from './taskbench-metrics.js';

const readJsonLines = (path: string): unknown[] =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as unknown);

const expected = JSON.parse(
  readFileSync(fixture('taskbench', 'evaluate-py-expected.json'), 'utf8'),
) as Record<string, Record<string, Record<string, unknown>>>;

function assertClose(actual: unknown, wanted: unknown, where: string): void {
  if (typeof wanted === 'number') {
    assert.equal(typeof actual, 'number', `${where}: missing`);
    assert.ok(Math.abs((actual as number) - wanted) < 5e-5, `${where}: ${actual} vs evaluate.py ${wanted}`);
    return;
  }
  if (typeof wanted === 'object' && wanted !== null) {
    for (const [key, value] of Object.entries(wanted)) {
      assertClose((actual as Record<string, unknown>)?.[key], value, `${where}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, wanted, where);
}

describe('TaskBench scoring', () => {
  for (const domain of ['huggingface', 'multimedia']) {
    test(`${domain}: every metric of every group equals what TaskBench's evaluate.py printed, to 4 decimals`, () => {
      const tools = (
        JSON.parse(readFileSync(fixture('taskbench', `${domain}.tool_desc.json`), 'utf8')) as {
          nodes: TaskBenchTool[];
        }
      ).nodes;
      const scores = scoreTaskBench({
        gold: readJsonLines(fixture('taskbench', `${domain}.sample.jsonl`)),
        predictions: readJsonLines(fixture('taskbench', `${domain}.perturbed-predictions.jsonl`)),
        tools,
      });
      const wanted = expected[domain]!;
      assert.deepEqual(Object.keys(scores), Object.keys(wanted));
      for (const [group, metrics] of Object.entries(wanted)) {
        const keys = (object: object) =>
          Object.keys(object)
            .filter((key) => key !== 'node_per_type_no_matchcing')
            .sort();
        assert.deepEqual(keys(scores[group]!), keys(metrics), `${group}: the same metrics are present`);
        assertClose(scores[group], metrics, `${domain}.${group}`);
      }
    });
  }

  test('gold predicted exactly scores 1 on every metric and 0 edit distance', () => {
    const gold = readJsonLines(fixture('taskbench', 'huggingface.sample.jsonl'));
    const tools = (
      JSON.parse(readFileSync(fixture('taskbench', 'huggingface.tool_desc.json'), 'utf8')) as {
        nodes: TaskBenchTool[];
      }
    ).nodes;
    const predictions = gold.map((row) => {
      const { id, task_nodes, task_links, task_steps } = row as Record<string, unknown>;
      return { id, result: { task_nodes, task_links, task_steps } };
    });
    const overall = scoreTaskBench({ gold, predictions, tools, splits: ['overall'], nTools: [] })
      .overall_overall!;
    assert.equal(overall.node_micro_f1_no_matching, 1);
    assert.equal(overall.link_binary_f1, 1);
    assert.equal(overall.argument_task_argname_value_binary_f1_no_matching, 1);
    assert.equal(overall.edit_distance, 0);
  });

  test("the script's content types and sequence ratio", () => {
    assert.equal(contentType("'photo.jpeg'"), 'image');
    assert.equal(contentType('a beautiful.autumn day'), 'audio');
    assert.equal(contentType('clip.mp4'), 'video');
    assert.equal(contentType('hello'), 'text');
    assert.equal(levenshteinRatio([1, 2], [2, 1]), 0.5);
    assert.equal(levenshteinRatio([], []), 1);
  });
});
