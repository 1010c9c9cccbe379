/**
 * HuggingGPT's showcase requests, end to end through the `jarvis` binary with the real local experts on the
 * fixtures in test/fixtures: first with a given plan and no LLM at all, then planned by the (loopback) controller.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { createLocalBackend } from '../src/backends/local/index.js';
import { wordErrorRate } from '../src/backends/local/support/word-error-rate.js';
import type { RunResult, TaskResult } from '../src/core/events.js';
import { cleanEnvironment, NO_LLM_FLAGS, runJarvis } from './support/cli.js';
import { FIXTURES } from './support/fixtures.js';
import { startHfServer } from './support/hf-server.js';
import {
  lastUserMessage,
  type OpenAITestServer,
  pickCandidateRule,
  promptText,
  startOpenAITestServer,
  systemPrompt,
} from './support/openai-server.js';

const IMAGES = join(FIXTURES, 'images');
const REPOSITORY = fileURLToPath(new URL('..', import.meta.url));
const SENTENCE = 'Please read this document aloud and tell me the weather in Paris tomorrow.';

const recognizer = (await createLocalBackend().listModels('automatic-speech-recognition')).find(
  (card) => card.available,
);
const NO_SPEECH = recognizer ? false : 'no speech recognizer available (npm install brings moonshine-tiny)';

let home: string;
before(() => {
  home = mkdtempSync(join(tmpdir(), 'jarvis-showcase-'));
});

function jarvis(args: string[], env: NodeJS.ProcessEnv = {}) {
  return runJarvis(args, {
    cwd: IMAGES,
    env: cleanEnvironment(home, {
      JARVIS_DATA_DIR: join(home, 'data'),
      JARVIS_INFERENCE_MODE: 'local',
      ...env,
    }),
  });
}

const succeeded = (task: TaskResult | undefined) => {
  assert.ok(task, 'the task is reported');
  assert.equal(task.status, 'succeeded', JSON.stringify(task.error));
  return task as Extract<TaskResult, { status: 'succeeded' }>;
};

describe('a given plan on the fixtures, with no LLM configured', () => {
  let result: RunResult;
  before(async () => {
    const plan = join(home, 'showcase-plan.json');
    writeFileSync(
      plan,
      JSON.stringify([
        { id: 0, task: 'object-detection', dep: [-1], args: { image: 'b.jpg' } },
        { id: 1, task: 'object-detection', dep: [-1], args: { image: 'f.jpg' } },
        { id: 2, task: 'openpose-control', dep: [-1], args: { image: 'messi5.jpg' } },
        { id: 3, task: 'image-to-text', dep: [-1], args: { image: 'page.png' } },
      ]),
    );
    const { code, stdout, stderr } = await jarvis(['run', '--plan', plan, ...NO_LLM_FLAGS]);
    assert.equal(code, 0, stderr);
    result = JSON.parse(stdout) as RunResult;
  });

  test('b.jpg yields at least one zebra and an annotated image', async () => {
    const task = succeeded(result.tasks[0]);
    assert.equal(task.backend, 'local');
    const counts = (task.output.data as { counts: Record<string, number> }).counts;
    assert.ok((counts.zebra ?? 0) >= 1, JSON.stringify(counts));
    const annotated = task.output.artifacts?.[0];
    assert.ok(annotated && existsSync(annotated.path));
    assert.ok(annotated.path.startsWith(result.outputDir), 'generated files go to the run folder');
    assert.equal((await sharp(annotated.path).metadata()).format, 'jpeg');
  });

  test('f.jpg yields zebras and a giraffe', () => {
    const counts = (succeeded(result.tasks[1]).output.data as { counts: Record<string, number> }).counts;
    assert.ok((counts.zebra ?? 0) >= 2, JSON.stringify(counts));
    assert.ok((counts.giraffe ?? 0) >= 1, JSON.stringify(counts));
  });

  test('messi5.jpg yields a full skeleton and a skeleton image', async () => {
    const task = succeeded(result.tasks[2]);
    const poses = (task.output.data as { poses: { keypoints: { part: string }[] }[] }).poses;
    assert.equal(poses.length, 1);
    assert.ok(new Set(poses[0]?.keypoints.map((keypoint) => keypoint.part)).size >= 14);
    const skeleton = task.output.artifacts?.[0];
    assert.ok(skeleton && existsSync(skeleton.path));
    assert.equal(skeleton.kind, 'image');
  });

  test("page.png's text contains its title", () => {
    assert.match(succeeded(result.tasks[3]).output.text ?? '', /Region-based segmentation/);
  });
});

describe('text-to-speech, then recognition of the generated audio, in one plan', { skip: NO_SPEECH }, () => {
  test('the recognizer hears most of the words', async () => {
    const plan = join(home, 'speech-plan.json');
    writeFileSync(
      plan,
      JSON.stringify([
        { id: 0, task: 'text-to-speech', dep: [-1], args: { text: SENTENCE } },
        { id: 1, task: 'automatic-speech-recognition', dep: [0], args: { audio: '<GENERATED>-0' } },
      ]),
    );
    const { code, stdout, stderr } = await jarvis(['run', '--plan', plan, ...NO_LLM_FLAGS]);
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    const speech = succeeded(result.tasks[0]).output.artifacts?.[0];
    assert.ok(speech);
    assert.equal(result.tasks[1]?.args.audio, speech.path, 'the generated audio was passed on');
    const heard = succeeded(result.tasks[1]).output.text ?? '';
    const { rate } = wordErrorRate(SENTENCE, heard);
    assert.ok(rate <= 0.5, `word error rate ${rate}: "${heard}"`);
  });
});

describe('showcase requests planned by the controller LLM', () => {
  let llm: OpenAITestServer;
  before(async () => {
    llm = await startOpenAITestServer();
    llm.rule(pickCandidateRule());
  });
  after(() => llm.close());
  const env = () => ({ JARVIS_LLM_BASE_URL: llm.baseURL, JARVIS_LLM_API_KEY: 'sk-showcase-0000' });

  test("the README's quick start, run from the repository root, plans three detections of examples/ and answers with the zebra count", async () => {
    const readme = await readFile(join(REPOSITORY, 'README.md'), 'utf8');
    const quickStart = /jarvis run "(How many zebras are in examples\/[^"]+)"/.exec(readme)?.[1];
    assert.ok(quickStart, 'the README names the quick start request');
    llm.rule((request) =>
      /task planning/i.test(systemPrompt(request)) && lastUserMessage(request).includes('How many zebras')
        ? // Prose around the JSON, as models often write: the reader keeps the list.
          'I will detect objects in each image.\n[{"id":0,"task":"object-detection","dep":[-1],"args":{"image":"examples/a.jpg"}},' +
          '{"id":1,"task":"object-detection","dep":[-1],"args":{"image":"examples/b.jpg"}},' +
          '{"id":2,"task":"object-detection","dep":[-1],"args":{"image":"examples/c.jpg"}}]'
        : undefined,
    );
    llm.rule((request) => {
      const message = lastUserMessage(request);
      if (!/response generation/i.test(systemPrompt(request)) || !message.includes('How many zebras'))
        return undefined;
      // The loopback LLM answers like a model would: by adding up the zebra counts of the results it was shown.
      const results = JSON.parse(message.split('Task results (JSON):\n')[1] ?? '[]') as { text?: string }[];
      const zebras = results.reduce(
        (sum, entry) => sum + Number(/(\d+) zebras?/.exec(entry.text ?? '')?.[1] ?? 0),
        0,
      );
      return `There are ${zebras} zebras in the three pictures.`;
    });
    const { code, stdout, stderr } = await runJarvis(['run', '--json', quickStart], {
      cwd: REPOSITORY,
      env: cleanEnvironment(home, {
        JARVIS_DATA_DIR: join(home, 'data'),
        JARVIS_INFERENCE_MODE: 'local',
        ...env(),
      }),
    });
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    assert.deepEqual(
      result.plan.map((task) => [task.task, task.args.image]),
      [
        ['object-detection', 'examples/a.jpg'],
        ['object-detection', 'examples/b.jpg'],
        ['object-detection', 'examples/c.jpg'],
      ],
    );
    const counted = result.tasks.reduce(
      (sum, task) =>
        sum + ((succeeded(task).output.data as { counts: Record<string, number> }).counts.zebra ?? 0),
      0,
    );
    assert.ok(counted >= 2, `the detector found ${counted} zebras`);
    assert.equal(result.answer, `There are ${counted} zebras in the three pictures.`);
    // Three independent detections ran at the same time.
    const [first, second] = result.tasks;
    assert.ok((second?.startedAt ?? 0) < (first?.endedAt ?? 0), 'independent tasks overlap');
  });

  test('a chosen model that cannot be downloaded falls back to a ready one, and the reason says so', async () => {
    const picker = await startOpenAITestServer();
    // A Hub that answers (so a model not in the cache counts as downloadable) but does not have the model.
    const hub = await startHfServer({ models: [] });
    try {
      // This controller prefers the second candidate: the transformers.js DETR model, not in the cache.
      picker.rule(pickCandidateRule(1));
      picker.rule((request) =>
        /task planning/i.test(systemPrompt(request))
          ? '[{"id":0,"task":"object-detection","dep":[-1],"args":{"image":"b.jpg"}}]'
          : 'One zebra.',
      );
      const { code, stdout, stderr } = await jarvis(['run', '--json', 'What animals are in b.jpg?'], {
        JARVIS_LLM_BASE_URL: picker.baseURL,
        HF_ENDPOINT: hub.url,
      });
      assert.equal(code, 0, stderr);
      const task = succeeded((JSON.parse(stdout) as RunResult).tasks[0]);
      assert.equal(`${task.backend}:${task.model}`, 'local:human-centernet');
      assert.match(
        task.reason ?? '',
        /Fell back to local:human-centernet: transformers:Xenova\/detr-resnet-50 failed/,
      );
    } finally {
      await picker.close();
      await hub.close();
    }
  });

  test('"generate a pose image of d.jpg" produces the skeleton image', async () => {
    llm.rule((request) =>
      /task planning/i.test(systemPrompt(request)) && lastUserMessage(request).includes('pose image of d.jpg')
        ? '[{"id":0,"task":"openpose-control","dep":[-1],"args":{"image":"d.jpg"}}]'
        : undefined,
    );
    llm.rule((request) =>
      /response generation/i.test(systemPrompt(request)) && promptText(request).includes('openpose-control')
        ? 'The player is dunking a basketball; the skeleton image is in the run folder.'
        : undefined,
    );
    const { code, stdout, stderr } = await jarvis(
      ['run', '--json', 'Generate a pose image of d.jpg and tell me what the person is doing'],
      env(),
    );
    assert.equal(code, 0, stderr);
    const result = JSON.parse(stdout) as RunResult;
    const pose = succeeded(result.tasks[0]);
    const skeleton = pose.output.artifacts?.[0];
    assert.ok(skeleton, 'a skeleton image');
    const bytes = await readFile(skeleton.path);
    assert.ok(bytes.length > 100);
    // The answer prompt named the file, so the user learns where it is.
    const answerPrompt = llm.requests
      .filter((request) => /response generation/i.test(systemPrompt(request)))
      .at(-1);
    assert.ok(answerPrompt && promptText(answerPrompt).includes(skeleton.path.split('/').at(-1) ?? ''));
    assert.match(result.answer ?? '', /dunking/);
  });
});
