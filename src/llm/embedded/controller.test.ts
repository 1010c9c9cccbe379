import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { z } from 'zod';
import { writeTinyGguf } from '../../../scripts/make-tiny-gguf.js';
import { CancelledError, ConfigError, LlmError } from '../../core/errors.js';
import type { ChatMessage, ControllerModel, GrammarSteps } from '../../core/llm.js';
import { planJsonSchema } from '../../plan/prompt.js';
import { selectionJsonSchema } from '../../select/index.js';
import { createEmbeddedController } from './controller.js';
import { disposeEmbeddedModels, loadSharedModel } from './runtime.js';

// One thread: the test runner runs two files at once on a two-core machine.
const THREADS = 1;

const PLAN_MESSAGES: ChatMessage[] = [
  { role: 'system', content: 'You turn requests into task lists. Reply with JSON only.' },
  { role: 'user', content: 'How many zebras are in /data/zebras.jpg? Read the answer aloud.' },
];

/** A reply long enough to abort halfway: the grammar makes the model write at least 300 characters. */
const LONG_REPLY_SCHEMA = {
  name: 'long',
  schema: {
    type: 'object',
    properties: { text: { type: 'string', minLength: 300, maxLength: 320 } },
    required: ['text'],
  },
};

let dir: string;
let modelPath: string;
let controller: ControllerModel;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'jarvis-embedded-'));
  modelPath = writeTinyGguf(join(dir, 'tiny.gguf'), { seed: 5 });
  controller = await createEmbeddedController({
    model: modelPath,
    cacheDir: join(dir, 'cache'),
    threads: THREADS,
    maxContextTokens: 4096,
  });
});

after(async () => {
  await disposeEmbeddedModels();
  rmSync(dir, { recursive: true, force: true });
});

describe('embedded controller on a tiny random GGUF model', () => {
  test('names itself after the model file and takes its context from the model, capped', () => {
    assert.equal(controller.id, 'embedded:tiny');
    assert.equal(controller.contextTokens, 4096);
  });

  test("answers the planner's schema with JSON that the schema accepts, from random weights", async () => {
    const result = await controller.chat({
      stage: 'plan',
      messages: PLAN_MESSAGES,
      jsonSchema: planJsonSchema,
    });
    const plan = z.fromJSONSchema(planJsonSchema.schema as never).parse(JSON.parse(result.text));
    assert.ok(Array.isArray((plan as { tasks: unknown[] }).tasks));
    assert.ok(result.usage.inputTokens > Buffer.byteLength(PLAN_MESSAGES[1]!.content));
    assert.ok(result.usage.outputTokens >= Buffer.byteLength(result.text) / 4);
  });

  test("answers the selector's schema with ids and models from the enums, at any temperature", async () => {
    const schema = selectionJsonSchema(
      [0, 1, 2],
      ['local:detr', 'hf:facebook/detr-resnet-101', 'llm:controller'],
    );
    const validate = z.fromJSONSchema(schema as never);
    for (const temperature of [0, 0.8, 1.5]) {
      const result = await controller.chat({
        stage: 'select',
        temperature,
        messages: [{ role: 'user', content: 'Pick a model for each task.' }],
        jsonSchema: { name: 'selection', schema },
      });
      const reply = validate.parse(JSON.parse(result.text)) as { choices: unknown[] };
      assert.ok(reply.choices.length <= 3, `temperature ${temperature}: ${result.text}`);
    }
  });

  test('streams the reply as deltas that add up to the text', async () => {
    const deltas: string[] = [];
    const result = await controller.chat({
      stage: 'respond',
      messages: [{ role: 'user', content: 'Say something.' }],
      jsonSchema: LONG_REPLY_SCHEMA,
      onDelta: (text) => deltas.push(text),
    });
    assert.ok(deltas.length > 10, `only ${deltas.length} deltas`);
    assert.equal(deltas.join(''), result.text);
    assert.ok((JSON.parse(result.text) as { text: string }).text.length >= 300);
  });

  test('stops mid-reply with CancelledError when the caller aborts, and answers the next call', async () => {
    const abort = new AbortController();
    let deltas = 0;
    await assert.rejects(
      controller.chat({
        stage: 'respond',
        messages: [{ role: 'user', content: 'Say something long.' }],
        jsonSchema: LONG_REPLY_SCHEMA,
        signal: abort.signal,
        onDelta: () => {
          deltas += 1;
          if (deltas === 3) abort.abort();
        },
      }),
      CancelledError,
    );
    assert.ok(deltas < 50, `generation went on for ${deltas} deltas after the abort`);
    const next = await controller.chat({
      stage: 'chat',
      messages: [{ role: 'user', content: 'Hi' }],
      maxOutputTokens: 4,
    });
    assert.ok(next.usage.outputTokens <= 5);
  });

  test('writes a reply in steps, each under the grammar chosen from the reply so far, streamed as one', async () => {
    const seen: string[] = [];
    // Three steps: a word, then a digit that says how many letters the last step writes.
    const steps: GrammarSteps = {
      maxSteps: 5,
      next(reply) {
        seen.push(reply);
        if (reply === '') return 'root ::= "count:"';
        if (reply === 'count:') return 'root ::= [1-4]';
        if (/^count:\d$/.test(reply)) return `root ::= " " [a-z]{${reply.at(-1)}}`;
        return undefined;
      },
    };
    let streamed = '';
    const result = await controller.chat({
      stage: 'plan',
      messages: PLAN_MESSAGES,
      grammarSteps: steps,
      onDelta: (text) => {
        streamed += text;
      },
    });
    assert.match(result.text, /^count:(\d) [a-z]+$/);
    const [, digit] = /^count:(\d)/.exec(result.text)!;
    assert.equal(result.text.length, 'count:0 '.length + Number(digit));
    assert.deepEqual(seen.slice(0, 3), ['', 'count:', `count:${digit}`]);
    assert.equal(streamed, result.text);
  });

  test('a reply in steps stops at maxOutputTokens, and when the caller aborts', async () => {
    const endless: GrammarSteps = { maxSteps: 100, next: () => 'root ::= [a-z]{40} ","' };
    const bounded = await controller.chat({
      stage: 'plan',
      messages: PLAN_MESSAGES,
      grammarSteps: endless,
      maxOutputTokens: 100,
    });
    assert.ok(bounded.text.length <= 100, `${bounded.text.length} characters`);
    const abort = new AbortController();
    let deltas = 0;
    await assert.rejects(
      controller.chat({
        stage: 'plan',
        messages: PLAN_MESSAGES,
        grammarSteps: endless,
        signal: abort.signal,
        onDelta: () => {
          deltas += 1;
          if (deltas === 3) abort.abort();
        },
      }),
      CancelledError,
    );
    assert.ok(deltas < 50, `generation went on for ${deltas} deltas after the abort`);
  });

  test('refuses a call whose signal is already aborted', async () => {
    await assert.rejects(
      controller.chat({
        stage: 'chat',
        messages: [{ role: 'user', content: 'Hi' }],
        signal: AbortSignal.abort(),
      }),
      CancelledError,
    );
  });

  test('caps a free-text reply at maxOutputTokens', async () => {
    const result = await controller.chat({
      stage: 'chat',
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
      maxOutputTokens: 8,
    });
    assert.ok(result.usage.outputTokens <= 9, `${result.usage.outputTokens} tokens`);
    assert.ok(Buffer.byteLength(result.text) <= 8 * 4);
  });

  test('concurrent calls take turns on the shared model and all complete', async () => {
    const results = await Promise.all(
      [0, 1, 2].map((index) =>
        controller.chat({
          stage: 'select',
          messages: [{ role: 'user', content: `Request number ${index}` }],
          jsonSchema: { name: 'selection', schema: selectionJsonSchema([index], ['local:a', 'local:b']) },
        }),
      ),
    );
    for (const result of results) assert.doesNotThrow(() => JSON.parse(result.text));
  });

  test('a call aborted while it waits for its turn gives up without waiting for the one before it', async () => {
    let firstDeltas = 0;
    const first = controller.chat({
      stage: 'respond',
      messages: [{ role: 'user', content: 'Say something long.' }],
      jsonSchema: LONG_REPLY_SCHEMA,
      onDelta: () => {
        firstDeltas += 1;
      },
    });
    const abort = new AbortController();
    const second = controller.chat({
      stage: 'chat',
      messages: [{ role: 'user', content: 'Hi' }],
      signal: abort.signal,
    });
    abort.abort();
    await assert.rejects(second, CancelledError);
    const deltasWhenCancelled = firstDeltas;
    // A third call still waits for the first: the cancelled one did not jump the queue for it.
    let firstDone = false;
    let firstDoneWhenThirdSpoke: boolean | undefined;
    const third = controller.chat({
      stage: 'chat',
      messages: [{ role: 'user', content: 'Hello' }],
      jsonSchema: LONG_REPLY_SCHEMA,
      onDelta: () => {
        firstDoneWhenThirdSpoke ??= firstDone;
      },
    });
    const result = await first;
    firstDone = true;
    await third;
    assert.ok(firstDeltas > deltasWhenCancelled, 'the second call waited for the first one to finish');
    assert.ok((JSON.parse(result.text) as { text: string }).text.length >= 300);
    assert.equal(firstDoneWhenThirdSpoke, true);
  });

  test('loads a model file once per process, whichever controller asks', async () => {
    const second = await createEmbeddedController({
      model: modelPath,
      cacheDir: join(dir, 'cache'),
      threads: THREADS,
    });
    await second.chat({ stage: 'chat', messages: [{ role: 'user', content: 'Hi' }], maxOutputTokens: 2 });
    const first = await loadSharedModel(modelPath, { threads: THREADS, maxContextTokens: 4096 });
    const again = await loadSharedModel(modelPath, { threads: THREADS, maxContextTokens: 4096 });
    assert.equal(first, again);
    assert.equal(second.contextTokens, first.context.contextSize);
  });

  test('uses the whole trained context of a small model and reports a prompt that does not fit', async () => {
    const small = await createEmbeddedController({
      model: writeTinyGguf(join(dir, 'small.gguf'), { contextLength: 256 }),
      cacheDir: join(dir, 'cache'),
      threads: THREADS,
    });
    assert.equal(small.contextTokens, 256);
    await assert.rejects(
      small.chat({ stage: 'chat', messages: [{ role: 'user', content: 'x'.repeat(400) }] }),
      (error: unknown) => error instanceof LlmError && /does not fit/.test(error.message),
    );
  });

  test('a missing model file is a ConfigError that names the file', async () => {
    await assert.rejects(
      createEmbeddedController({ model: join(dir, 'nope.gguf'), cacheDir: dir, threads: THREADS }),
      (error: unknown) => error instanceof ConfigError && error.message.includes('nope.gguf'),
    );
  });

  test('a file that is not a GGUF model is a ConfigError', async () => {
    const notModel = join(dir, 'notes.gguf');
    (await import('node:fs')).writeFileSync(notModel, 'not a model');
    await assert.rejects(
      createEmbeddedController({ model: notModel, cacheDir: dir, threads: THREADS }),
      (error: unknown) => error instanceof ConfigError && /not a readable GGUF/.test(error.message),
    );
  });
});
