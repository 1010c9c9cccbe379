/**
 * Plans from the embedded model under the planner's grammar, on tiny GGUF models with random weights:
 *
 *   node --import tsx bench/plan-grammar.bench.ts [--seeds 8] [--rounds 5] [--timed-models 2]
 *
 * 1. Validity: for every model (three kinds x `--seeds` seeds: two shapes, and one that favours "<", the
 *    start of a reference) and request, `planTasks` with the embedded
 *    controller: the share of first replies that are valid plans, how many plans are empty, and how many
 *    hold a media argument that refers to another task's output ("<GENERATED>-k" in an image, audio or
 *    video argument).
 * 2. Time per plan, before and after, side by side on the same loaded model and prompt, alternating: before
 *    is the one-shot grammar of the previous planner (a JSON schema with one item per position, where only
 *    text arguments could refer to other tasks; kept below for this comparison), after is the grammar in
 *    steps. Each figure is one controller call: grammar compilation (cached after the first call of each
 *    grammar), generation and, for steps, continuing the same model response; the prompt is already in the
 *    context (a warm-up call ran it first), so prompt evaluation, the same for both, is left out. Medians of
 *    `--rounds` calls per model (the first `--timed-models` models) with their spread, the ratio of the
 *    medians, and time per written token (the two grammars let a model write plans of different lengths).
 *
 * Runs on one CPU thread; the machine's load average is printed with the figures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTinyGguf } from '../scripts/make-tiny-gguf.js';
import type { ChatMessage, ControllerModel } from '../src/core/llm.js';
import { HUGGING_FACE_TASKS, RESOURCE_KINDS, type TaskDefinition } from '../src/core/tasks.js';
import { createEmbeddedController } from '../src/llm/embedded/controller.js';
import { disposeEmbeddedModels } from '../src/llm/embedded/runtime.js';
import { buildPlanMessages, planGrammarSteps, planJsonSchema, planTasks } from '../src/plan/index.js';
import { median, option, spread } from './stats.js';
import { formatTable } from './table.js';

const SEEDS = Number(option('seeds', '8'));
/** Models (in order) on which time per plan is measured: the previous grammar is slow on some. */
const TIMED_MODELS = Number(option('timed-models', '2'));
const ROUNDS = Math.max(5, Number(option('rounds', '5')));
const SHAPES = [
  { name: '64-wide, 1 block', embeddingLength: 64, blockCount: 1 },
  { name: '128-wide, 2 blocks', embeddingLength: 128, blockCount: 2 },
  // Prefers "<" wherever the grammar allows it, so it refers to earlier tasks wherever it may.
  { name: '64-wide, favours "<"', embeddingLength: 64, blockCount: 1, favour: '<' },
];
const REQUESTS = [
  'Draw a zebra on a beach, then tell me which objects are in the picture.',
  'How many zebras are in a.jpg? Read the answer aloud.',
];

/** The previous planner's grammar: one JSON-schema item per position; references only in text arguments. */
function previousGrammarSchema(): { name: string; schema: Record<string, unknown> } {
  const groups = new Map<string, { names: string[]; definition: TaskDefinition }>();
  for (const definition of HUGGING_FACE_TASKS.tasks) {
    const key = RESOURCE_KINDS.map((kind) =>
      definition.required.includes(kind) ? 'R' : definition.inputs.includes(kind) ? 'O' : '-',
    ).join('');
    const group = groups.get(key);
    if (group) group.names.push(definition.name);
    else groups.set(key, { names: [definition.name], definition });
  }
  const argument = (definition: TaskDefinition, kind: string, position: number) => {
    if (!definition.inputs.includes(kind as never)) return { type: 'null' };
    const literal = { type: 'string', minLength: 1, maxLength: kind === 'text' ? 240 : 120 };
    const references = Array.from({ length: position }, (_, id) => `<GENERATED>-${id}`);
    const options: Record<string, unknown>[] = [
      ...(kind === 'text' && references.length > 0 ? [{ enum: references }] : []),
      literal,
      ...(definition.required.includes(kind as never) ? [] : [{ type: 'null' }]),
    ];
    return options.length === 1 ? options[0]! : { oneOf: options };
  };
  const position = (at: number) => ({
    oneOf: [...groups.values()].map(({ names, definition }) => ({
      type: 'object',
      properties: {
        task: { enum: names },
        id: { const: at },
        dep: { type: 'array', items: { enum: [-1, ...Array.from({ length: at }, (_, id) => id)] } },
        args: {
          type: 'object',
          properties: Object.fromEntries(
            RESOURCE_KINDS.map((kind) => [kind, argument(definition, kind, at)]),
          ),
          required: [...RESOURCE_KINDS],
          additionalProperties: false,
        },
      },
      required: ['task', 'id', 'dep', 'args'],
      additionalProperties: false,
    })),
  });
  return {
    name: 'task_plan',
    schema: {
      type: 'object',
      properties: {
        tasks: {
          type: 'array',
          prefixItems: Array.from({ length: 6 }, (_, at) => position(at)),
          maxItems: 6,
        },
      },
      required: ['tasks'],
      additionalProperties: false,
    },
  };
}

function hasMediaReference(plan: { args: Record<string, string | undefined> }[]): boolean {
  return plan.some((task) =>
    Object.entries(task.args).some(
      ([kind, value]) => kind !== 'text' && /^<GENERATED>-\d+$/.test(value ?? ''),
    ),
  );
}

/** Milliseconds of one call, and the tokens it wrote. */
async function timed(work: () => Promise<{ usage: { outputTokens: number } }>): Promise<[number, number]> {
  const start = performance.now();
  const result = await work();
  return [performance.now() - start, result.usage.outputTokens];
}

const dir = mkdtempSync(join(tmpdir(), 'jarvis-plan-grammar-bench-'));
const before = previousGrammarSchema();
let valid = 0;
let empty = 0;
let media = 0;
let total = 0;
const beforeTimes: number[] = [];
const afterTimes: number[] = [];
const beforePerToken: number[] = [];
const afterPerToken: number[] = [];
let models = 0;
const perModel: string[][] = [];
console.log(
  `load average before: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`,
);
try {
  for (const shape of SHAPES) {
    for (let seed = 1; seed <= SEEDS; seed++) {
      const path = writeTinyGguf(join(dir, `tiny-${models}-${seed}.gguf`), {
        seed,
        embeddingLength: shape.embeddingLength,
        blockCount: shape.blockCount,
        ...(shape.favour ? { favour: shape.favour } : {}),
      });
      const controller: ControllerModel = await createEmbeddedController({
        model: path,
        cacheDir: join(dir, 'cache'),
        threads: 1,
        maxContextTokens: 8192,
        preload: true,
      });
      const outcomes: string[] = [];
      for (const request of REQUESTS) {
        const outcome = await planTasks({ request, controller });
        total++;
        const firstValid = outcome.ok && outcome.llmCalls === 1;
        if (firstValid) valid++;
        if (outcome.plan.length === 0) empty++;
        const withMedia = hasMediaReference(outcome.plan as never);
        if (withMedia) media++;
        outcomes.push(
          `${firstValid ? 'valid' : 'INVALID'} ${outcome.plan.length} task${outcome.plan.length === 1 ? '' : 's'}${withMedia ? ', media ref' : ''}`,
        );
      }
      // Time per plan on the second request's prompt, already in the context after the runs above.
      const messages: ChatMessage[] = buildPlanMessages({
        request: REQUESTS[1]!,
        contextTokens: controller.contextTokens,
      });
      const modelBefore: number[] = [];
      const modelAfter: number[] = [];
      const record = ([ms, tokens]: [number, number], times: number[], perToken: number[]) => {
        times.push(ms);
        perToken.push(ms / Math.max(1, tokens));
      };
      const rounds = models++ < TIMED_MODELS ? ROUNDS : 0;
      for (let round = 0; round < rounds; round++) {
        const runBefore = () =>
          // The embedded controller makes its grammar of the JSON schema: here the old one-shot plan grammar.
          controller.chat({ stage: 'plan', messages, jsonSchema: before });
        const runAfter = () =>
          controller.chat({
            stage: 'plan',
            messages,
            jsonSchema: planJsonSchema,
            grammarSteps: planGrammarSteps(),
          });
        if (round === 0) {
          await runBefore();
          await runAfter();
        }
        if (round % 2 === 0) {
          record(await timed(runBefore), modelBefore, beforePerToken);
          record(await timed(runAfter), modelAfter, afterPerToken);
        } else {
          record(await timed(runAfter), modelAfter, afterPerToken);
          record(await timed(runBefore), modelBefore, beforePerToken);
        }
      }
      beforeTimes.push(...modelBefore);
      afterTimes.push(...modelAfter);
      const row = [
        `${shape.name}, seed ${seed}`,
        outcomes.join('; '),
        modelBefore.length > 0 ? `${median(modelBefore).toFixed(0)} ${spread(modelBefore, 0)}` : '-',
        modelAfter.length > 0 ? `${median(modelAfter).toFixed(0)} ${spread(modelAfter, 0)}` : '-',
      ];
      perModel.push(row);
      console.log(row.join(' | '));
      await disposeEmbeddedModels();
    }
  }
} finally {
  await disposeEmbeddedModels();
  rmSync(dir, { recursive: true, force: true });
}

console.log(
  formatTable(
    ['model', 'plans (first reply)', 'before ms/plan (min-max)', 'after ms/plan (min-max)'],
    perModel,
  ),
);
console.log(
  `\nvalid on the first reply: ${valid}/${total}; empty plans: ${empty}; plans with a media reference: ${media}`,
);
console.log(
  `time per plan, all models: before ${median(beforeTimes).toFixed(0)} ms ${spread(beforeTimes, 0)}, ` +
    `after ${median(afterTimes).toFixed(0)} ms ${spread(afterTimes, 0)}; after/before ${(median(afterTimes) / median(beforeTimes)).toFixed(2)}`,
);
console.log(
  `time per written token: before ${median(beforePerToken).toFixed(2)} ms ${spread(beforePerToken, 2)}, ` +
    `after ${median(afterPerToken).toFixed(2)} ms ${spread(afterPerToken, 2)}`,
);
console.log(
  `load average after: ${loadavg()
    .map((value) => value.toFixed(2))
    .join(' ')}`,
);
