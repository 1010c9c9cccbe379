import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testController } from '../../test/support/controller.js';
import {
  type OpenAITestServer,
  startOpenAITestServer,
  systemPrompt,
} from '../../test/support/openai-server.js';
import { defineTaskVocabulary, HUGGING_FACE_TASKS, type TaskDefinition } from '../core/tasks.js';
import { planGrammarSteps, planJsonSchemaFor, planSystemPrompt, planTasks, validatePlan } from './index.js';

const TOOLS: TaskDefinition[] = [
  {
    name: 'Image Downloader',
    description: 'Downloads an image from a URL.',
    inputs: ['text'],
    required: ['text'],
    outputs: ['image'],
  },
  {
    name: 'Image-to-Text',
    description: 'Describes an image.',
    inputs: ['image'],
    required: ['image'],
    outputs: ['text'],
  },
  {
    name: 'Text-to-Audio',
    description: 'Reads a text aloud.',
    inputs: ['text'],
    required: ['text'],
    outputs: ['audio'],
  },
  { name: 'Video Voiceover', inputs: ['video', 'audio'], required: ['video', 'audio'], outputs: ['video'] },
];
const vocabulary = defineTaskVocabulary(TOOLS, { aliases: { captioner: 'Image-to-Text' } });

describe('a custom task vocabulary', () => {
  test('the planner validates plans against its names and kinds, not the Hugging Face list', () => {
    const { plan, problems } = validatePlan(
      [
        { id: 0, task: 'image downloader', args: { text: 'https://example.com/cat.png' } },
        { id: 1, task: 'Image_to_Text', dep: [0], args: { image: '<GENERATED>-0' } },
        { id: 2, task: 'captioner', args: { image: 'b.jpg' } },
      ],
      { vocabulary },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(
      plan.map((task) => [task.task, task.dep, task.args]),
      [
        ['Image Downloader', [-1], { text: 'https://example.com/cat.png' }],
        ['Image-to-Text', [0], { image: '<GENERATED>-0' }],
        ['Image-to-Text', [-1], { image: 'b.jpg' }],
      ],
    );
  });

  test('a built-in task name is unknown to a custom vocabulary, with the nearest custom one suggested', () => {
    const { problems } = validatePlan([{ id: 0, task: 'image-to-texts', args: { image: 'a.jpg' } }], {
      vocabulary,
    });
    assert.equal(problems.length, 1);
    assert.match(problems[0]!, /"image-to-texts" is not an available task; the closest is "Image-to-Text"/);
    const builtIn = validatePlan([{ id: 0, task: 'object-detection', args: { image: 'a.jpg' } }], {
      vocabulary,
    });
    assert.match(builtIn.problems[0]!, /"object-detection" is not an available task/);
  });

  test('input and output kinds come from the definitions', () => {
    const wrongKind = validatePlan(
      [
        { id: 0, task: 'Text-to-Audio', args: { text: 'hello' } },
        { id: 1, task: 'Image-to-Text', args: { image: '<GENERATED>-0' } },
      ],
      { vocabulary },
    );
    assert.match(
      wrongKind.problems.join(' '),
      /refers to task 0 \(Text-to-Audio\), which produces audio, not an image/,
    );
    const missing = validatePlan([{ id: 0, task: 'Video Voiceover', args: { video: 'v.mp4' } }], {
      vocabulary,
    });
    assert.match(missing.problems.join(' '), /Task 0 \(Video Voiceover\) needs an audio argument/);
  });

  test('the prompt lists its tasks with descriptions, and the grammar enumerates its names', () => {
    const prompt = planSystemPrompt(undefined, vocabulary);
    assert.ok(prompt.includes('Image Downloader (text -> image): Downloads an image from a URL.'));
    // A task without a description is listed under its signature.
    assert.ok(prompt.includes('video, audio -> video: Video Voiceover'));
    assert.ok(!prompt.includes('object-detection'));
    const grammar = planGrammarSteps(undefined, vocabulary).next('')!;
    for (const name of ['Image Downloader', 'Image-to-Text', 'Text-to-Audio', 'Video Voiceover']) {
      assert.ok(grammar.includes(JSON.stringify(JSON.stringify(name))), name);
    }
    // The schema sent to providers names no task: the prompt already lists them.
    assert.ok(!JSON.stringify(planJsonSchemaFor().schema).includes('Image'));
  });

  test('a broken definition list is refused with the task named', () => {
    assert.throws(
      () =>
        defineTaskVocabulary([
          ...TOOLS,
          { name: 'image_downloader', inputs: [], required: [], outputs: ['image'] },
        ]),
      /Task "image_downloader" is listed twice/,
    );
    assert.throws(
      () => defineTaskVocabulary([{ name: 'Bad', inputs: ['text'], required: ['image'], outputs: ['text'] }]),
      /Task "Bad" requires "image", which is not one of its inputs/,
    );
    assert.throws(
      () =>
        defineTaskVocabulary([{ name: 'Bad', inputs: ['url' as 'text'], required: [], outputs: ['text'] }]),
      /"url" is not one of text, image, audio, video/,
    );
  });

  test('the built-in vocabulary is the Hugging Face list', () => {
    assert.ok(HUGGING_FACE_TASKS.builtIn);
    assert.equal(HUGGING_FACE_TASKS.resolve('OCR'), 'image-to-text');
    assert.deepEqual(HUGGING_FACE_TASKS.get('object-detection')?.outputs, ['image']);
  });
});

describe('planTasks with a custom vocabulary', () => {
  let server: OpenAITestServer;
  before(async () => {
    server = await startOpenAITestServer();
  });
  after(() => server.close());

  test('the controller sees only the custom tasks and its plan comes back with their names', async () => {
    server.enqueue(
      JSON.stringify({
        tasks: [
          {
            task: 'Image-to-Text',
            id: 0,
            dep: [-1],
            args: { text: null, image: 'page.png', audio: null, video: null },
          },
          {
            task: 'Text-to-Audio',
            id: 1,
            dep: [0],
            args: { text: '<GENERATED>-0', image: null, audio: null, video: null },
          },
        ],
      }),
    );
    const outcome = await planTasks({
      request: 'Read page.png aloud',
      controller: testController(server),
      vocabulary,
    });
    assert.ok(outcome.ok, outcome.problems.join(' '));
    assert.deepEqual(
      outcome.plan.map((task) => task.task),
      ['Image-to-Text', 'Text-to-Audio'],
    );
    const request = server.requests.at(-1)!;
    assert.ok(systemPrompt(request).includes('Text-to-Audio (text -> audio)'));
    // No built-in demos: they name tasks this vocabulary does not have.
    assert.equal(request.messages.length, 2);
  });
});
