import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inferenceRequest } from '../../../test/support/expert-requests.js';
import { TASK_NAMES } from '../../core/tasks.js';
import type { LocalExpert } from './expert.js';
import { createLocalBackend, LOCAL_EXPERTS } from './index.js';

describe('the local backend', () => {
  test('offers one card per registered expert, each local, built-in and described', async () => {
    const cards = await createLocalBackend().listModels();
    assert.deepEqual(
      cards.map((card) => card.id),
      LOCAL_EXPERTS.map((expert) => expert.id),
    );
    for (const card of cards) {
      assert.equal(card.backend, 'local');
      assert.equal(card.source, 'built-in');
      assert.equal(card.local, true);
      assert.ok(TASK_NAMES.includes(card.task), `${card.id}: unknown task ${card.task}`);
      assert.ok(card.description.length > 80, `${card.id}: description too thin`);
      if (!card.available)
        assert.match(card.reason ?? '', /install|configure/, `${card.id}: reason must say the fix`);
    }
  });

  test('covers the tasks of HuggingGPT showcase requests', () => {
    const backend = createLocalBackend();
    for (const task of [
      'object-detection',
      'openpose-control',
      'image-segmentation',
      'canny-control',
      'image-to-text',
      'document-question-answering',
      'text-to-speech',
      'automatic-speech-recognition',
      'token-classification',
      'text-classification',
    ] as const) {
      assert.ok(backend.supports(task), task);
    }
  });

  test('an expert whose dependency is missing is listed unavailable with its fix and refused when asked', async () => {
    let runs = 0;
    const needsPackage: LocalExpert = {
      id: 'needs-package',
      task: 'text-to-speech',
      description: 'test expert',
      checkAvailable: async () => 'needs the Debian package example: sudo apt-get install example',
      run: async () => {
        runs += 1;
        return { text: 'ran' };
      },
    };
    const backend = createLocalBackend({ experts: [needsPackage] });
    const [card] = await backend.listModels('text-to-speech');
    assert.equal(card?.available, false);
    assert.equal(card?.reason, 'needs the Debian package example: sudo apt-get install example');
    await assert.rejects(
      backend.infer(inferenceRequest('text-to-speech', 'needs-package', { text: 'hello' })),
      {
        code: 'model-unavailable',
        message: /sudo apt-get install example/,
      },
    );
    assert.equal(runs, 0);
  });

  test('an expert that throws a plain error surfaces as an inference error naming the expert', async () => {
    const broken: LocalExpert = {
      id: 'broken',
      task: 'text-classification',
      description: 'test expert',
      run: async () => {
        throw new TypeError('cannot read properties of undefined');
      },
    };
    const backend = createLocalBackend({ experts: [broken] });
    await assert.rejects(backend.infer(inferenceRequest('text-classification', 'broken', { text: 'x' })), {
      code: 'inference',
      message: 'broken failed: cannot read properties of undefined',
    });
  });

  test('a cancelled task does not run the model', async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      createLocalBackend().infer(
        inferenceRequest(
          'token-classification',
          'compromise-ner',
          { text: 'Angela Merkel' },
          { signal: controller.signal },
        ),
      ),
      { code: 'cancelled' },
    );
  });
});
