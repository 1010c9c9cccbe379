import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { TaskGraph } from '../core/graph.js';
import { closestTask, validatePlan } from './validate.js';

const detect = (id: number, image: string) => ({ task: 'object-detection', id, dep: [-1], args: { image } });

/** Plans with mistakes, the problems the LLM is told about, and what of the plan survives. */
const broken: { name: string; tasks: unknown[]; problems: string[]; survivors?: TaskGraph }[] = [
  {
    name: 'an unknown task name, with the closest one suggested; tasks needing its output go too',
    tasks: [
      { task: 'image-captioning-pro', id: 0, dep: [-1], args: { image: 'a.jpg' } },
      { task: 'text-to-speech', id: 1, dep: [0], args: { text: '<GENERATED>-0' } },
      detect(2, 'b.jpg'),
    ],
    problems: ['Task 0: "image-captioning-pro" is not an available task; the closest is "image-to-text".'],
    survivors: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } }],
  },
  {
    name: 'a made-up task name',
    tasks: [{ task: 'zebra-counter', id: 0, dep: [-1], args: { image: 'c.jpg' } }],
    problems: ['Task 0: "zebra-counter" is not an available task.'],
    survivors: [],
  },
  {
    name: 'a reference to a task that does not exist',
    tasks: [{ task: 'text-to-speech', id: 0, dep: [5], args: { text: '<GENERATED>-5' } }],
    problems: ['Task 0 (text-to-speech) uses <GENERATED>-5, but there is no task 5.'],
    survivors: [],
  },
  {
    name: 'a cycle listed against the order of the list',
    tasks: [
      { task: 'image-to-text', id: 0, args: { image: '<GENERATED>-1' } },
      { task: 'text-to-image', id: 1, args: { text: '<GENERATED>-2' } },
      { task: 'summarization', id: 2, args: { text: '<GENERATED>-0' } },
    ],
    problems: [
      'Tasks 0, 1, 2 depend on each other in a cycle (outputs flow 0 -> 2 -> 1 -> 0); a task can only use outputs of tasks that do not need its own output.',
    ],
  },
  {
    name: 'a task using its own output',
    tasks: [{ task: 'image-to-image', id: 0, dep: [0], args: { image: '<GENERATED>-0' } }],
    problems: [
      'Task 0 (image-to-image) uses its own output (<GENERATED>-0); it can only use outputs of other tasks.',
    ],
  },
  {
    name: 'a cycle of three tasks',
    tasks: [
      { task: 'image-to-text', id: 0, dep: [2], args: { image: '<GENERATED>-2' } },
      { task: 'text-to-image', id: 1, dep: [0], args: { text: '<GENERATED>-0' } },
      { task: 'image-to-image', id: 2, dep: [1], args: { image: '<GENERATED>-1' } },
      detect(3, 'e.jpg'),
    ],
    problems: [
      'Tasks 0, 1, 2 depend on each other in a cycle (outputs flow 0 -> 1 -> 2 -> 0); a task can only use outputs of tasks that do not need its own output.',
    ],
    survivors: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'e.jpg' } }],
  },
  {
    name: 'an argument kind the task cannot take',
    tasks: [{ task: 'text-to-image', id: 0, dep: [-1], args: { text: 'a cat', image: 'a.jpg' } }],
    problems: ['Task 0 (text-to-image) cannot take an image argument; it takes text.'],
  },
  {
    name: 'a missing required argument',
    tasks: [{ task: 'visual-question-answering', id: 0, dep: [-1], args: { image: 'g.jpg' } }],
    problems: ['Task 0 (visual-question-answering) needs a text argument ("text").'],
  },
  {
    name: 'no args at all',
    tasks: [{ task: 'object-detection', id: 0, dep: [-1] }],
    problems: ['Task 0 (object-detection) needs an image argument ("image").'],
  },
  {
    name: 'an image argument fed by a task that produces audio',
    tasks: [
      { task: 'text-to-speech', id: 0, dep: [-1], args: { text: 'hello' } },
      { task: 'image-to-text', id: 1, dep: [0], args: { image: '<GENERATED>-0' } },
    ],
    problems: [
      'Task 1 (image-to-text): its image argument <GENERATED>-0 refers to task 0 (text-to-speech), which produces audio, not an image.',
    ],
    survivors: [{ id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'hello' } }],
  },
  {
    name: 'an argument name that is no resource kind',
    tasks: [{ task: 'text-to-speech', id: 0, dep: [-1], args: { text: 'hi', voice: 'female' } }],
    problems: ['Task 0 (text-to-speech): argument "voice" is not one of text, image, audio, video.'],
  },
  {
    name: 'a reference inside the text of an image argument',
    tasks: [
      detect(0, 'a.jpg'),
      { task: 'image-to-text', id: 1, args: { image: 'the crop of <GENERATED>-0' } },
    ],
    problems: [
      'Task 1 (image-to-text): its image argument "the crop of <GENERATED>-0" must be a whole reference like "<GENERATED>-0" or a file name or URL; only a text argument may have references inside other text.',
    ],
    survivors: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } }],
  },
  {
    name: 'a reference inside a text to a task that does not exist',
    tasks: [
      detect(0, 'a.jpg'),
      { task: 'summarization', id: 1, args: { text: 'Sum up <GENERATED>-0 and <GENERATED>-3' } },
    ],
    problems: ['Task 1 (summarization) uses <GENERATED>-3, but there is no task 3.'],
    survivors: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } }],
  },
  {
    name: 'a reference inside a text to its own task',
    tasks: [{ task: 'text-generation', id: 0, args: { text: 'Continue <GENERATED>-0' } }],
    problems: [
      'Task 0 (text-generation) uses its own output (<GENERATED>-0); it can only use outputs of other tasks.',
    ],
  },
  {
    name: 'a cycle through references inside texts',
    tasks: [
      { task: 'summarization', id: 0, args: { text: 'Shorten <GENERATED>-1' } },
      { task: 'text-generation', id: 1, args: { text: 'Expand on <GENERATED>-0' } },
    ],
    problems: [
      'Tasks 0, 1 depend on each other in a cycle (outputs flow 0 -> 1 -> 0); a task can only use outputs of tasks that do not need its own output.',
    ],
  },
  {
    name: 'a <GENERATED> tag without a task id beside a reference inside a text',
    tasks: [
      detect(0, 'a.jpg'),
      { task: 'summarization', id: 1, args: { text: 'Compare <GENERATED>-0 with <GENERATED>' } },
    ],
    problems: [
      'Task 1 (summarization): "Compare <GENERATED>-0 with <GENERATED>" has a "<GENERATED>" that names no task; write "<GENERATED>-k" with k the id of the task whose output it is.',
    ],
    survivors: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } }],
  },
  {
    name: 'a duplicated id that another task refers to',
    tasks: [
      detect(0, 'a.jpg'),
      detect(0, 'b.jpg'),
      { task: 'image-to-text', id: 1, dep: [0], args: { image: '<GENERATED>-0' } },
    ],
    problems: [
      'Task 1 (image-to-text) uses <GENERATED>-0, but 2 tasks have id 0; give every task its own id.',
    ],
    survivors: [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } },
      { id: 1, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } },
    ],
  },
  {
    name: 'two arguments of one kind',
    tasks: [
      {
        task: 'visual-question-answering',
        id: 0,
        dep: [-1],
        args: { image: 'd.jpg', text: 'Describe', question: 'what sport?' },
      },
    ],
    problems: [
      'Task 0 (visual-question-answering): give one text argument, not two ("text" and "question").',
    ],
  },
  {
    name: 'an item that is not a task, and a task without a name',
    tasks: ['object-detection', { id: 1, args: { image: 'a.jpg' } }],
    problems: [
      'Item 1 of the list is not a task object like {"task": ..., "id": ..., "args": {...}}.',
      'Task 1 has no "task" name.',
    ],
    survivors: [],
  },
  {
    name: 'a <GENERATED> tag without a task id',
    tasks: [detect(0, 'a.jpg'), { task: 'image-to-text', id: 1, dep: [0], args: { image: '<GENERATED>' } }],
    problems: [
      'Task 1 (image-to-text): "<GENERATED>" names no task; write "<GENERATED>-k" with k the id of the task whose output it is.',
    ],
    survivors: [{ id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } }],
  },
  {
    name: 'an argument whose value is an object',
    tasks: [{ task: 'object-detection', id: 0, dep: [-1], args: { image: { path: 'a.jpg' } } }],
    problems: ['Task 0 (object-detection): argument "image" must be a string.'],
  },
];

describe('validatePlan problems', () => {
  for (const { name, tasks, problems, survivors } of broken) {
    test(`reports ${name}`, () => {
      const result = validatePlan(tasks);
      assert.deepEqual(result.problems, problems);
      assert.deepEqual(result.plan, survivors ?? []);
    });
  }

  test('a task outside the available ones is refused with an available suggestion', () => {
    const result = validatePlan([{ task: 'text-to-video', id: 0, args: { text: 'a cat surfing' } }], {
      availableTasks: ['text-to-image', 'object-detection'],
    });
    assert.deepEqual(result.problems, [
      'Task 0: "text-to-video" cannot run here; use an available task instead, such as "text-to-image".',
    ]);
  });

  test('a plan that grows past maxTasks when unfolded is refused', () => {
    const images = Array.from({ length: 10 }, (_, index) => `photo${index}.jpg`);
    const result = validatePlan([{ task: 'object-detection', id: 0, args: { image: images } }], {
      maxTasks: 8,
    });
    assert.deepEqual(result.plan, []);
    assert.deepEqual(result.problems, [
      'The plan has 10 or more tasks after splitting lists of inputs into one task each; use at most 8 tasks.',
    ]);
  });
});

describe('validatePlan fixes', () => {
  test("unfolds HuggingGPT's list of generated outputs into one task per output", () => {
    const result = validatePlan([
      detect(0, 'a.jpg'),
      detect(1, 'b.jpg'),
      detect(2, 'c.jpg'),
      {
        task: 'visual-question-answering',
        id: 3,
        dep: [0, 1, 2],
        args: { image: '<GENERATED>-0,<GENERATED>-1, <GENERATED>-2', text: 'How many zebras?' },
      },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan, [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'a.jpg' } },
      { id: 1, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } },
      { id: 2, task: 'object-detection', dep: [-1], args: { image: 'c.jpg' } },
      {
        id: 3,
        task: 'visual-question-answering',
        dep: [0],
        args: { image: '<GENERATED>-0', text: 'How many zebras?' },
      },
      {
        id: 4,
        task: 'visual-question-answering',
        dep: [1],
        args: { image: '<GENERATED>-1', text: 'How many zebras?' },
      },
      {
        id: 5,
        task: 'visual-question-answering',
        dep: [2],
        args: { image: '<GENERATED>-2', text: 'How many zebras?' },
      },
    ]);
  });

  test('tasks that use an unfolded task are unfolded too, and references after it are renumbered', () => {
    const result = validatePlan([
      { task: 'image-to-text', id: 0, args: { image: ['e.jpg', 'f.jpg'] } },
      { task: 'translation', id: 1, args: { text: '<GENERATED>-0' } },
      { task: 'text-to-image', id: 2, args: { text: 'a lighthouse at dusk' } },
      { task: 'image-to-text', id: 3, args: { image: '<GENERATED>-2' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan, [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'e.jpg' } },
      { id: 1, task: 'image-to-text', dep: [-1], args: { image: 'f.jpg' } },
      { id: 2, task: 'translation', dep: [0], args: { text: '<GENERATED>-0' } },
      { id: 3, task: 'translation', dep: [1], args: { text: '<GENERATED>-1' } },
      { id: 4, task: 'text-to-image', dep: [-1], args: { text: 'a lighthouse at dusk' } },
      { id: 5, task: 'image-to-text', dep: [4], args: { image: '<GENERATED>-4' } },
    ]);
  });

  test('a comma-separated list of files in a media argument becomes one task per file', () => {
    const result = validatePlan([
      { task: 'object-detection', id: 0, args: { image: 'a.jpg, b.jpg and c.jpg' } },
    ]);
    assert.deepEqual(
      result.plan.map((task) => task.args.image),
      ['a.jpg', 'b.jpg', 'c.jpg'],
    );
  });

  test('a text with commas stays one text', () => {
    const text = 'Hello, world, and welcome';
    const result = validatePlan([{ task: 'text-to-speech', id: 0, args: { text } }]);
    assert.deepEqual(result.plan, [{ id: 0, task: 'text-to-speech', dep: [-1], args: { text } }]);
  });

  test('duplicated ids nobody refers to are renumbered without a problem', () => {
    const result = validatePlan([detect(0, 'a.jpg'), detect(0, 'b.jpg'), detect(0, 'c.jpg')]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.plan.map((task) => [task.id, task.args.image]),
      [
        [0, 'a.jpg'],
        [1, 'b.jpg'],
        [2, 'c.jpg'],
      ],
    );
  });

  test('tasks without ids are referred to by their position', () => {
    const result = validatePlan([
      { task: 'automatic-speech-recognition', args: { audio: 'question.wav' } },
      { task: 'visual-question-answering', args: { image: 'kitchen.jpg', text: '<GENERATED>-0' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan[1], {
      id: 1,
      task: 'visual-question-answering',
      dep: [0],
      args: { image: 'kitchen.jpg', text: '<GENERATED>-0' },
    });
  });

  test('a generic argument name takes its kind from the file extension or the producing task', () => {
    const result = validatePlan([
      { task: 'text-to-image', id: 0, args: { prompt: 'a red fox' } },
      { task: 'image-to-image', id: 1, args: { input: '<GENERATED>-0' } },
      { task: 'automatic-speech-recognition', id: 2, args: { file: 'https://example.org/talk.mp3?x=1' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(
      result.plan.map((task) => task.args),
      [{ text: 'a red fox' }, { image: '<GENERATED>-0' }, { audio: 'https://example.org/talk.mp3?x=1' }],
    );
  });

  test('the text of any task can feed a text argument, whatever media the task produces', () => {
    const result = validatePlan([
      detect(0, 'f.jpg'),
      { task: 'summarization', id: 1, args: { text: '<GENERATED>-0' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan[1]?.dep, [0]);
  });

  test('a reference inside a text argument is kept, and the task depends on the task it names', () => {
    const result = validatePlan([
      detect(0, 'f.jpg'),
      { task: 'text-generation', id: 1, dep: [0], args: { text: 'Write a poem about <GENERATED>-0' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan, [
      { id: 0, task: 'object-detection', dep: [-1], args: { image: 'f.jpg' } },
      { id: 1, task: 'text-generation', dep: [0], args: { text: 'Write a poem about <GENERATED>-0' } },
    ]);
  });

  test('references inside a text are renumbered with the tasks they name', () => {
    const result = validatePlan([
      {
        task: 'translation',
        id: 7,
        dep: [-1],
        args: { text: 'Translate <GENERATED>-4 into French, then <GENERATED-2>' },
      },
      { task: 'text-to-speech', id: 2, args: { text: 'hello' } },
      { task: 'image-to-text', id: 4, args: { image: 'a.jpg' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan, [
      { id: 0, task: 'text-to-speech', dep: [-1], args: { text: 'hello' } },
      { id: 1, task: 'image-to-text', dep: [-1], args: { image: 'a.jpg' } },
      {
        id: 2,
        task: 'translation',
        dep: [0, 1],
        args: { text: 'Translate <GENERATED>-1 into French, then <GENERATED>-0' },
      },
    ]);
  });

  test('two references inside one text make the task depend on both tasks', () => {
    const result = validatePlan([
      { task: 'image-to-text', id: 0, args: { image: 'a.jpg' } },
      { task: 'automatic-speech-recognition', id: 1, args: { audio: 'b.wav' } },
      { task: 'text-generation', id: 2, args: { text: '<GENERATED>-1 <GENERATED>-0' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan[2], {
      id: 2,
      task: 'text-generation',
      dep: [0, 1],
      args: { text: '<GENERATED>-1 <GENERATED>-0' },
    });
  });

  test('a text naming an unfolded task twice becomes one text per copy, naming that copy twice', () => {
    const result = validatePlan([
      { task: 'image-to-text', id: 0, args: { image: ['e.jpg', 'f.jpg'] } },
      { task: 'text-generation', id: 1, args: { text: 'Rhyme <GENERATED>-0, then reverse <GENERATED>-0' } },
    ]);
    assert.deepEqual(result.problems, []);
    assert.deepEqual(result.plan, [
      { id: 0, task: 'image-to-text', dep: [-1], args: { image: 'e.jpg' } },
      { id: 1, task: 'image-to-text', dep: [-1], args: { image: 'f.jpg' } },
      {
        id: 2,
        task: 'text-generation',
        dep: [0],
        args: { text: 'Rhyme <GENERATED>-0, then reverse <GENERATED>-0' },
      },
      {
        id: 3,
        task: 'text-generation',
        dep: [1],
        args: { text: 'Rhyme <GENERATED>-1, then reverse <GENERATED>-1' },
      },
    ]);
  });

  test('an empty list is a valid plan: no tools, just chat', () => {
    assert.deepEqual(validatePlan([]), { plan: [], problems: [] });
  });
});

describe('closestTask', () => {
  test('finds the vocabulary name hidden in a decorated one, or the nearest by spelling', () => {
    assert.equal(closestTask('run-object-detection-now'), 'object-detection');
    assert.equal(closestTask('image-segmentaton'), 'image-segmentation');
    assert.equal(closestTask('speech-synthesis'), 'text-to-speech');
    assert.equal(closestTask('zebra-counter'), undefined);
  });
});
