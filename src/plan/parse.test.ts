import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PlanError } from '../core/errors.js';
import type { TaskGraph } from '../core/graph.js';
import { parsePlanText } from './parse.js';
import { validatePlan } from './validate.js';

/** Replies as LLMs really write them (HuggingGPT's own logs show most of these quirks). */
const replies: { name: string; reply: string; plan: TaskGraph }[] = [
  {
    name: 'a clean JSON list',
    reply: '[{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "e.jpg"}}]',
    plan: [{ id: 0, task: 'image-to-text', dep: [-1], args: { image: 'e.jpg' } }],
  },
  {
    name: 'a ```json fence with prose before and after',
    reply:
      'Sure! Here is the task plan:\n```json\n[\n  {"task": "object-detection", "id": 0, "dep": [-1], "args": {"image": "f.jpg"}}\n]\n```\nLet me know if you need anything else.',
    plan: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'f.jpg' } }],
  },
  {
    name: 'a fence without a language and a trailing comma',
    reply: '```\n[{"task": "text-to-speech", "id": 0, "dep": [-1], "args": {"text": "hello there"},},]\n```',
    plan: [{ id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'hello there' } }],
  },
  {
    name: 'prose around an unfenced list',
    reply:
      'Based on the request, the plan is [{"task": "automatic-speech-recognition", "id": 0, "dep": [-1], "args": {"audio": "speech.wav"}}]. I will transcribe the audio.',
    plan: [{ id: 0, task: 'automatic-speech-recognition', dep: [-1], args: { audio: 'speech.wav' } }],
  },
  {
    name: 'a single object not wrapped in a list',
    reply: '{"task": "depth-estimation", "id": 0, "dep": [-1], "args": {"image": "room.png"}}',
    plan: [{ id: 0, task: 'depth-estimation', dep: [-1], args: { image: 'room.png' } }],
  },
  {
    name: 'several objects one after another, one per line',
    reply:
      '{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "page.png"}}\n{"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}}',
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'page.png' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
    ],
  },
  {
    name: 'several objects separated by prose',
    reply:
      'Step 1: {"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "page.png"}}\nStep 2: {"task": "summarization", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"}}',
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'page.png' } },
      { id: 1, task: 'summarization', dep: [0], args: { text: '<GENERATED>-0' } },
    ],
  },
  {
    name: 'the structured-output object {"tasks": [...]} with null arguments',
    reply:
      '{"tasks": [{"task": "text-to-image", "id": 0, "dep": [-1], "args": {"text": "a red fox in snow", "image": null, "audio": null, "video": null}}]}',
    plan: [{ id: 0, task: 'text-to-image', dep: [-1], args: { text: 'a red fox in snow' } }],
  },
  {
    name: 'single quotes and Python constants',
    reply:
      "[{'task': 'image-classification', 'id': 0, 'dep': [-1], 'args': {'image': 'cat.jpg', 'text': None}}]",
    plan: [{ id: 0, task: 'image-classification', dep: [-1], args: { image: 'cat.jpg' } }],
  },
  {
    name: '<GENERATED-0> written instead of <GENERATED>-0',
    reply:
      '[{"task": "openpose-control", "id": 0, "dep": [-1], "args": {"image": "d.jpg"}}, {"task": "openpose-text-to-image", "id": 1, "dep": [0], "args": {"text": "a girl reading a book", "image": "<GENERATED-0>"}}]',
    plan: [
      { id: 0, task: 'openpose-control', dep: [-1], args: { image: 'd.jpg' } },
      {
        id: 1,
        task: 'openpose-text-to-image',
        dep: [0],
        args: { text: 'a girl reading a book', image: '<GENERATED>-0' },
      },
    ],
  },
  {
    name: '<GENERATED>0 and lower-case <generated> - 1',
    reply:
      '[{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "a.jpg"}}, {"task": "translation", "id": 1, "dep": [0], "args": {"text": "<GENERATED>0"}}, {"task": "text-to-speech", "id": 2, "dep": [1], "args": {"text": "<generated> - 1"}}]',
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'a.jpg' } },
      { id: 1, task: 'translation', dep: [0], args: { text: '<GENERATED>-0' } },
      { id: 2, task: 'text-to-speech', dep: [1], args: { text: '<GENERATED>-1' } },
    ],
  },
  {
    name: 'dep as a number, dep as a string, ids as strings, wrong deps',
    reply:
      '[{"task": "image-to-text", "id": "0", "dep": -1, "args": {"image": "e.jpg"}}, {"task": "text-to-speech", "id": "1", "dep": "0", "args": {"text": "<GENERATED>-0"}}, {"task": "object-detection", "id": "2", "dep": [1], "args": {"image": "e.jpg"}}]',
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'e.jpg' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
      // HuggingGPT's fix_dep: dependencies come from the references, not from what the LLM wrote in "dep".
      { id: 2, task: 'object-detection', dep: [-1], args: { image: 'e.jpg' } },
    ],
  },
  {
    name: 'near-miss task names and argument names',
    reply:
      '[{"task": "Object Detection", "id": 0, "dep": [-1], "args": {"img": "g.jpg"}}, {"task": "visual_question_answering", "id": 1, "dep": [-1], "args": {"image": "g.jpg", "question": "how many players?"}}]',
    plan: [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'g.jpg' } },
      {
        id: 1,
        task: 'visual-question-answering',
        dep: [-1],
        args: { image: 'g.jpg', text: 'how many players?' },
      },
    ],
  },
  {
    name: 'ids starting at 1 and a reference written before its task',
    reply:
      '[{"task": "text-to-speech", "id": 2, "dep": [1], "args": {"text": "<GENERATED>-1"}}, {"task": "image-to-text", "id": 1, "dep": [-1], "args": {"image": "b.jpg"}}]',
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'b.jpg' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
    ],
  },
  {
    name: 'a reply cut off in the middle of the list',
    reply:
      '[{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "c.jpg"}}, {"task": "text-to-speech", "id": 1, "dep": [0], "args": {"text": "<GENERATED>-0"',
    plan: [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'c.jpg' } },
      { id: 1, task: 'text-to-speech', dep: [0], args: { text: '<GENERATED>-0' } },
    ],
  },
  {
    name: 'a bracket in the prose before the JSON',
    reply:
      'I will use one tool [the detector]. {"task": "object-detection", "id": 0, "dep": [-1], "args": {"image": "horses.jpg"}}',
    plan: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'horses.jpg' } }],
  },
  {
    name: "an apostrophe inside a single-quoted value ('it's')",
    reply: "[{'task': 'text-to-speech', 'id': 0, 'dep': [-1], 'args': {'text': 'it's a lovely day'}}]",
    plan: [{ id: 0, task: 'text-to-speech', dep: [-1], args: { text: "it's a lovely day" } }],
  },
  {
    name: 'a reasoning model that drafts JSON while thinking',
    reply:
      '<think>The user wants detection. Maybe [{"task": "image-classification", "id": 0}]? No, detection is better.</think>\n[{"task": "object-detection", "id": 0, "dep": [-1], "args": {"image": "giraffe.jpg"}}]',
    plan: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'giraffe.jpg' } }],
  },
  {
    name: 'chit-chat: an empty list with prose',
    reply: 'This is just a greeting, so no tools are needed: []',
    plan: [],
  },
  {
    name: 'chit-chat: {"tasks": []}',
    reply: '{"tasks": []}',
    plan: [],
  },
];

describe('parsePlanText + validatePlan on real-looking LLM replies', () => {
  for (const { name, reply, plan } of replies) {
    test(`reads ${name}`, () => {
      const { tasks } = parsePlanText(reply);
      const result = validatePlan(tasks);
      assert.deepEqual(result.problems, []);
      assert.deepEqual(result.plan, plan);
    });
  }
});

describe('parsePlanText on replies with no task list', () => {
  test('a plain prose answer is a PlanError that asks for a JSON list', () => {
    assert.throws(
      () => parsePlanText('Hello! I am Jarvis. How can I help you today?'),
      (error: unknown) =>
        error instanceof PlanError &&
        error.problems.length === 1 &&
        /JSON list of tasks/.test(error.problems[0]!) &&
        error.context.raw === 'Hello! I am Jarvis. How can I help you today?',
    );
  });

  test('an empty reply says it was empty', () => {
    assert.throws(
      () => parsePlanText('  '),
      (error: unknown) => error instanceof PlanError && /empty/.test(error.problems[0]!),
    );
  });

  test('JSON that is not a task list (a list of strings) is not taken for a plan', () => {
    assert.throws(() => parsePlanText('The steps are ["detect", "count"].'), PlanError);
  });

  test('a fenced code block that is not a plan is skipped for the plan after it', () => {
    const reply =
      '```python\nprint("hi")\n```\nThe plan: [{"task": "image-to-text", "id": 0, "dep": [-1], "args": {"image": "a.jpg"}}]';
    assert.deepEqual(parsePlanText(reply).tasks, [
      { task: 'image-to-text', id: 0, dep: [-1], args: { image: 'a.jpg' } },
    ]);
  });
});

describe('parsePlanText never crashes', () => {
  test('every truncation of every reply above parses or is a PlanError, and validates without throwing', () => {
    let parsed = 0;
    for (const { reply } of replies) {
      for (let end = 0; end <= reply.length; end++) {
        let tasks: unknown[];
        try {
          tasks = parsePlanText(reply.slice(0, end)).tasks;
        } catch (error) {
          assert.ok(error instanceof PlanError, `${reply.slice(0, end)} threw ${String(error)}`);
          continue;
        }
        parsed++;
        const { plan } = validatePlan(tasks);
        for (const task of plan) assert.ok(task.dep.every((dep) => dep === -1 || dep < task.id));
      }
    }
    assert.ok(parsed > 0);
  });
});
