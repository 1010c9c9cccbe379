import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { fixture } from '../../test/support/fixtures.js';
import { PlanError } from '../core/errors.js';
import { planFromFile } from './formats.js';

function samples(domain: string): Record<string, unknown>[] {
  return readFileSync(fixture('taskbench', `${domain}.sample.jsonl`), 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Converts every row; counts successes; anything but a PlanError is a crash and fails the test. */
function convertAll(rows: Record<string, unknown>[]): { converted: number; failures: PlanError[] } {
  let converted = 0;
  const failures: PlanError[] = [];
  for (const row of rows) {
    try {
      planFromFile(row);
      converted++;
    } catch (error) {
      if (!(error instanceof PlanError)) throw error;
      failures.push(error);
    }
  }
  return { converted, failures };
}

describe('planFromFile with TaskBench samples', () => {
  test('most Hugging Face domain rows convert; the rest fail with a PlanError that names the problem', () => {
    const rows = samples('huggingface');
    assert.equal(rows.length, 120);
    const { converted, failures } = convertAll(rows);
    // Measured 90 of 120. The rest: tools outside our vocabulary ("Information Retrieval"),
    // question answering with a context and a question (two texts, one generated), placeholders.
    assert.ok(converted >= 88, `only ${converted} of 120 rows converted`);
    for (const failure of failures) {
      assert.ok(failure.problems.length > 0);
      assert.match(failure.message, /problem/);
    }
  });

  test('multimedia domain rows never crash; tools we have no task for are named in the error', () => {
    const rows = samples('multimedia');
    const { converted, failures } = convertAll(rows);
    // Measured 13 of 60: most multimedia tools (downloaders, video editing) have no counterpart here.
    assert.ok(converted >= 10, `only ${converted} of 60 rows converted`);
    assert.ok(
      failures.some((failure) =>
        failure.problems.some((problem) => problem.includes('"Video Synchronization"')),
      ),
    );
  });

  test('a chain converts to <GENERATED>-k references with kinds from the tools', () => {
    const row = samples('huggingface').find(
      (candidate) =>
        JSON.stringify(candidate.task_nodes) ===
        JSON.stringify([
          { task: 'Automatic Speech Recognition', arguments: ['example.wav'] },
          { task: 'Document Question Answering', arguments: ['example.jpg', '<node-0>'] },
          { task: 'Summarization', arguments: ['<node-1>'] },
        ]),
    );
    assert.ok(row, 'the ASR -> document QA -> summarization row is in the sample');
    assert.deepEqual(planFromFile(row), [
      { id: 0, task: 'automatic-speech-recognition', dep: [-1], args: { audio: 'example.wav' } },
      {
        id: 1,
        task: 'document-question-answering',
        dep: [0],
        args: { text: '<GENERATED>-0', image: 'example.jpg' },
      },
      { id: 2, task: 'summarization', dep: [1], args: { text: '<GENERATED>-1' } },
    ]);
  });

  test('rows numbering nodes from 1 are recognised by their task_links', () => {
    const plan = planFromFile({
      task_nodes: [
        {
          task: 'Document Question Answering',
          arguments: ['document.jpg', 'Who is the author of this document?'],
        },
        { task: 'Conversational', arguments: ['<node-1>'] },
      ],
      task_links: [{ source: 'Document Question Answering', target: 'Conversational' }],
    });
    assert.deepEqual(plan[1], { id: 1, task: 'conversational', dep: [0], args: { text: '<GENERATED>-0' } });
  });

  test('two literal sentences to compare become one text, one per line', () => {
    const plan = planFromFile({
      task_nodes: [
        {
          task: 'Sentence Similarity',
          arguments: ['The book is on the table.', 'A book lies on the table.'],
        },
      ],
    });
    assert.deepEqual(plan, [
      {
        id: 0,
        task: 'sentence-similarity',
        dep: [-1],
        args: { text: 'The book is on the table.\nA book lies on the table.' },
      },
    ]);
  });

  test('references by tool name (<output_of_X>, {"from": X}) resolve to that node', () => {
    const plan = planFromFile({
      task_nodes: [
        { task: 'Image Segmentation', arguments: ['example.jpg'] },
        {
          task: 'Visual Question Answering',
          arguments: ['<output_of_Image_Segmentation>', 'What is shown?'],
        },
        { task: 'Translation', arguments: [{ from: 'Visual Question Answering' }] },
      ],
    });
    assert.deepEqual(
      plan.map((task) => task.dep),
      [[-1], [0], [1]],
    );
  });

  test('outputs named by a node ("output": ["summarized_text"]) are references when used as arguments', () => {
    const plan = planFromFile({
      task_nodes: [
        { output: ['classified_content'], task: 'Audio Classification', arguments: ['example.wav'] },
        { output: ['summarized_text'], task: 'Summarization', arguments: ['classified_content'] },
        { task: 'Text-to-Speech', arguments: ['<summarized_text>'] },
      ],
    });
    assert.deepEqual(
      plan.map((task) => task.args.text ?? task.args.audio),
      ['example.wav', '<GENERATED>-0', '<GENERATED>-1'],
    );
  });

  test('an irregular row with a placeholder argument is a PlanError naming it', () => {
    assert.throws(
      () => planFromFile({ task_nodes: [{ task: 'Question Answering', arguments: ['<question_text>'] }] }),
      (error: unknown) =>
        error instanceof PlanError && /"<question_text>" is a placeholder/.test(error.problems[0] ?? ''),
    );
  });
});

describe('planFromFile with HuggingGPT plans', () => {
  test("loads HuggingGPT's task list with <GENERATED>-k and fixes its deps", () => {
    const file = JSON.parse(`[
      {"task": "openpose-control", "id": 0, "dep": [-1], "args": {"image": "d.jpg"}},
      {"task": "openpose-text-to-image", "id": 1, "dep": [0], "args": {"text": "a girl reading a book", "image": "<GENERATED>-0"}},
      {"task": "image-to-text", "id": 2, "dep": [1], "args": {"image": "<GENERATED>-1"}},
      {"task": "object-detection", "id": 3, "dep": [1], "args": {"image": "<GENERATED>-1"}}
    ]`) as unknown;
    assert.deepEqual(planFromFile(file), [
      { id: 0, task: 'openpose-control', dep: [-1], args: { image: 'd.jpg' } },
      {
        id: 1,
        task: 'openpose-text-to-image',
        dep: [0],
        args: { text: 'a girl reading a book', image: '<GENERATED>-0' },
      },
      { id: 2, task: 'image-to-text', dep: [1], args: { image: '<GENERATED>-1' } },
      { id: 3, task: 'object-detection', dep: [1], args: { image: '<GENERATED>-1' } },
    ]);
  });

  test('accepts {"tasks": [...]} and a plan given as text', () => {
    const tasks = [{ task: 'image-to-text', id: 0, dep: [-1], args: { image: 'e.jpg' } }];
    assert.deepEqual(planFromFile({ tasks }), tasks);
    assert.deepEqual(planFromFile(`\`\`\`json\n${JSON.stringify(tasks)}\n\`\`\``), tasks);
  });

  test('a plan with problems is a PlanError listing them', () => {
    assert.throws(
      () => planFromFile([{ task: 'visual-question-answering', id: 0, dep: [-1], args: { image: 'g.jpg' } }]),
      (error: unknown) =>
        error instanceof PlanError &&
        error.message ===
          'The plan has a problem: Task 0 (visual-question-answering) needs a text argument ("text").',
    );
  });

  test('JSON in neither format is a PlanError that shows both formats', () => {
    for (const json of [{ steps: 'detect zebras' }, [1, 2, 3], null, 42]) {
      assert.throws(
        () => planFromFile(json),
        (error: unknown) =>
          error instanceof PlanError &&
          /HuggingGPT's format/.test(error.message) &&
          /task_nodes/.test(error.message),
      );
    }
  });
});
