import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type ChatMessage, estimateTokens } from '../core/llm.js';
import { TASK_NAMES } from '../core/tasks.js';
import { parsePlanText } from './parse.js';
import { buildPlanMessages, PLAN_DEMOS, planJsonSchema, planSystemPrompt, repairMessage } from './prompt.js';
import { validatePlan } from './validate.js';

const tokensOf = (messages: ChatMessage[]) =>
  messages.reduce((total, message) => total + estimateTokens(message.content) + 4, 0);

describe('planning demos', () => {
  test('come in user/assistant pairs whose answers are valid plans in our vocabulary', () => {
    assert.equal(PLAN_DEMOS.length % 2, 0);
    for (let index = 0; index < PLAN_DEMOS.length; index += 2) {
      assert.equal(PLAN_DEMOS[index]?.role, 'user');
      assert.equal(PLAN_DEMOS[index + 1]?.role, 'assistant');
      const reply = PLAN_DEMOS[index + 1]!.content;
      const result = validatePlan(parsePlanText(reply).tasks);
      assert.deepEqual(result.problems, [], reply);
      // A demo must already be in the canonical form, or it teaches the LLM our fixes instead of the format.
      assert.deepEqual(result.plan, JSON.parse(reply));
    }
  });

  test('cover one task, a chain, a graph, several files, a file from an earlier turn and chit-chat', () => {
    const plans = PLAN_DEMOS.filter((message) => message.role === 'assistant').map(
      (message) =>
        JSON.parse(message.content) as { task: string; dep: number[]; args: Record<string, string> }[],
    );
    assert.ok(plans.some((plan) => plan.length === 1));
    assert.ok(plans.some((plan) => plan.length === 2 && plan[1]?.dep[0] === 0));
    // A graph: three different tasks, one of them using another's output.
    assert.ok(
      plans.some(
        (plan) =>
          plan.length === 3 &&
          new Set(plan.map((task) => task.task)).size === 3 &&
          plan.some((task) => task.dep[0] !== -1),
      ),
    );

    assert.ok(
      plans.some((plan) => plan.length === 3 && plan.every((task) => task.task === 'object-detection')),
    );
    assert.ok(plans.some((plan) => plan.length === 0));
    const earlierTurn = PLAN_DEMOS.find((message) => message.content.includes('The chat log ['));
    assert.ok(earlierTurn, 'one demo shows a chat log');
    const answer = PLAN_DEMOS[PLAN_DEMOS.indexOf(earlierTurn) + 1]!.content;
    const file = (JSON.parse(answer) as { args: { image?: string } }[])[0]?.args.image ?? '';
    const [chatLog, request] = earlierTurn.content.split('Now I input:');
    assert.ok(file !== '' && chatLog?.includes(file) && !request?.includes(file));
  });
});

describe('planSystemPrompt', () => {
  test('names every task of the vocabulary once, grouped under what it takes and gives', () => {
    const prompt = planSystemPrompt();
    for (const task of TASK_NAMES) {
      const named = prompt.match(new RegExp(`(?<=[:,] )${task}(?=,|\\n|$)`, 'gm'));
      assert.equal(named?.length, 1, task);
    }
    assert.match(prompt, /^image -> image: .*\bobject-detection\b/m);
    assert.match(prompt, /^image, text -> text: .*\bvisual-question-answering\b/m);
    assert.ok(prompt.includes('<GENERATED>-k'));
    assert.ok(prompt.includes('reply []'));
  });

  test('lists only the available tasks when given', () => {
    const prompt = planSystemPrompt(['object-detection', 'text-to-speech']);
    assert.ok(prompt.includes('image -> image: object-detection\ntext -> audio: text-to-speech\n'));
    assert.ok(!prompt.includes('text-to-video'));
  });
});

describe('buildPlanMessages', () => {
  const history: ChatMessage[] = Array.from({ length: 40 }, (_, index) => ({
    role: index % 2 === 0 ? 'user' : 'assistant',
    content: `message ${index}: ${'words '.repeat(100)}`,
  }));

  test('system prompt, demos, then the request as the last user message', () => {
    const messages = buildPlanMessages({ request: 'Describe e.jpg', contextTokens: 16_000 });
    assert.equal(messages[0]?.role, 'system');
    assert.deepEqual(messages.slice(1, 1 + PLAN_DEMOS.length), [...PLAN_DEMOS]);
    assert.deepEqual(messages.at(-1), { role: 'user', content: 'Describe e.jpg' });
  });

  test('keeps the newest history that fits, at most maxHistoryMessages', () => {
    const messages = buildPlanMessages({
      request: 'Now detect objects in it',
      history,
      contextTokens: 16_000,
      maxHistoryMessages: 6,
    });
    const last = messages.at(-1)!.content;
    assert.ok(last.includes('message 39:') && last.includes('message 34:'));
    assert.ok(!last.includes('message 33:'));
    assert.ok(last.includes('Now I input: Now detect objects in it'));
  });

  test('trims history oldest-first to fit a small context window', () => {
    const contextTokens = 4_000;
    const messages = buildPlanMessages({ request: 'Now detect objects in it', history, contextTokens });
    const last = messages.at(-1)!.content;
    assert.ok(last.includes('message 39:'), 'the newest message is kept');
    assert.ok(!last.includes('message 0:'), 'the oldest message is dropped');
    assert.ok(tokensOf(messages) <= contextTokens - 1_000, `${tokensOf(messages)} tokens`);
  });

  test('drops the earliest demos when even they do not fit, keeping the chit-chat one', () => {
    const messages = buildPlanMessages({ request: 'hi', history, contextTokens: 1_200 });
    assert.ok(messages.length < PLAN_DEMOS.length + 2);
    assert.deepEqual(messages.slice(-3, -1), PLAN_DEMOS.slice(-2));
    assert.deepEqual(messages.at(-1), { role: 'user', content: 'hi' });
  });

  test('leaves system messages of the history out', () => {
    const messages = buildPlanMessages({
      request: 'again',
      history: [
        { role: 'system', content: 'SECRET SYSTEM TEXT' },
        { role: 'user', content: 'look at b.jpg' },
      ],
      contextTokens: 16_000,
    });
    assert.ok(!messages.some((message) => message.content.includes('SECRET SYSTEM TEXT')));
    assert.ok(messages.at(-1)!.content.includes('user: look at b.jpg'));
  });
});

describe('repairMessage', () => {
  test('lists the problems and asks for the corrected list only', () => {
    const text = repairMessage(['Task 0 (object-detection) needs an image argument ("image").']);
    assert.ok(text.includes('- Task 0 (object-detection) needs an image argument ("image").'));
    assert.ok(text.includes('corrected JSON list only'));
  });
});

describe('planJsonSchema', () => {
  test('has an object root and names no task (the prompt lists them once)', () => {
    const schema = planJsonSchema.schema as {
      type: string;
      properties: { tasks: { items: { properties: { task: Record<string, unknown> } } } };
    };
    assert.equal(schema.type, 'object');
    assert.deepEqual(schema.properties.tasks.items.properties.task, { type: 'string' });
  });

  test('fits strict structured outputs: every object closed and every property required', () => {
    const visit = (node: unknown): void => {
      if (typeof node !== 'object' || node === null) return;
      const record = node as Record<string, unknown>;
      if (record.type === 'object') {
        assert.equal(record.additionalProperties, false);
        assert.deepEqual(
          [...(record.required as string[])].sort(),
          Object.keys(record.properties as object).sort(),
        );
      }
      for (const value of Object.values(record)) visit(value);
    };
    visit(planJsonSchema.schema);
  });
});
