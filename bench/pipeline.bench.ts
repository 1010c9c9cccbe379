/**
 * Whole-pipeline benchmark: a request goes through all four stages against the loopback LLM server (fixed
 * latency per call) and test backends (fixed latency per task). For plans of several shapes (wide, deep,
 * mixed; up to 50 tasks) it prints the execution stage's time over the plan's critical path (exec/dag), the
 * whole request's wall time over its floor (LLM calls in sequence + the critical path), LLM calls and prompt
 * tokens per request. First it prints the prompt tokens per stage of two real requests, counted with a
 * real tokenizer (see prompt-tokens.ts).
 *
 *   npm run bench -- [--runs 5]       (each shape's figures are the median of --runs runs, min-max beside them)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import type { TaskGraph } from '../src/core/graph.js';
import { createJarvis } from '../src/run/index.js';
import {
  type ChatCompletionRequest,
  pickCandidateRule,
  startOpenAITestServer,
  systemPrompt,
} from '../test/support/openai-server.js';
import { createTestBackend } from '../test/support/test-backend.js';
import { formatPromptTokens, measurePromptTokens } from './prompt-tokens.js';
import { median, option, spread } from './stats.js';
import { formatTable } from './table.js';

const LLM_LATENCY_MS = 40;
const TASK_LATENCY_MS = 30;
const RUNS = Math.max(5, Number(option('runs', '5')));

function wide(n: number): TaskGraph {
  return Array.from({ length: n }, (_, id) => ({
    id,
    task: 'text-classification',
    dep: [-1],
    args: { text: `item ${id}` },
  }));
}

function deep(n: number): TaskGraph {
  return Array.from({ length: n }, (_, id) => ({
    id,
    task: 'text-classification',
    dep: [id === 0 ? -1 : id - 1],
    args: { text: id === 0 ? 'start' : `<GENERATED>-${id - 1}` },
  }));
}

/**
 * Layers of `width` tasks; each task after the first layer reads two tasks of the layer before (an image from
 * one, text from the other): fan-in and fan-out.
 */
function mixed(n: number, width: number): TaskGraph {
  return Array.from({ length: n }, (_, id) => {
    const layer = Math.floor(id / width);
    if (layer === 0) return { id, task: 'text-to-image', dep: [-1], args: { text: `seed ${id}` } };
    const previous = (layer - 1) * width;
    const a = previous + (id % width);
    const b = previous + ((id + 1) % width);
    return {
      id,
      task: 'image-to-image',
      dep: [a, b],
      args: { image: `<GENERATED>-${a}`, text: `<GENERATED>-${b}` },
    };
  });
}

/** Longest latency-weighted path through the plan. */
function criticalPath(plan: TaskGraph, latency: number): number {
  const memo = new Map<number, number>();
  const finish = (id: number): number => {
    const known = memo.get(id);
    if (known !== undefined) return known;
    const task = plan.find((candidate) => candidate.id === id)!;
    const start = Math.max(0, ...task.dep.filter((dep) => dep >= 0).map(finish));
    memo.set(id, start + latency);
    return start + latency;
  };
  return Math.max(...plan.map((task) => finish(task.id)));
}

const isPlanning = (request: ChatCompletionRequest) => /task planning/i.test(systemPrompt(request));
const isSelecting = (request: ChatCompletionRequest) => /model selection/i.test(systemPrompt(request));

async function main() {
  const server = await startOpenAITestServer();
  const dataDir = mkdtempSync(join(tmpdir(), 'jarvis-bench-'));
  let currentPlan: TaskGraph = [];
  // Selection picks the second candidate of each task, so that the choice is visible in the results.
  const secondCandidate = pickCandidateRule(1);
  server.rule((request) => {
    if (isPlanning(request)) return { content: JSON.stringify(currentPlan), delayMs: LLM_LATENCY_MS };
    if (isSelecting(request))
      return { content: String(secondCandidate(request, 0)), delayMs: LLM_LATENCY_MS };
    return { content: 'Here is what I found.', delayMs: LLM_LATENCY_MS };
  });
  const config = configSchema.parse({
    llm: { baseURL: server.baseURL, apiKey: 'bench', model: 'bench-model', maxRetries: 0 },
    execute: { concurrency: 64 },
    dataDir,
  });
  const backend = createTestBackend({
    id: 'bench',
    latencyMs: TASK_LATENCY_MS,
    tasks: ['text-classification', 'text-to-image', 'image-to-image'],
    models: ['model-a', 'model-b'],
  });
  const jarvis = await createJarvis(config, { backends: [backend], sources: [] });

  const shapes: [string, TaskGraph][] = [
    ['wide-10', wide(10)],
    ['wide-50', wide(50)],
    ['deep-10', deep(10)],
    ['deep-50', deep(50)],
    ['mixed-20', mixed(20, 5)],
    ['mixed-50', mixed(50, 10)],
  ];
  const rows: string[][] = [];
  for (const [name, plan] of shapes) {
    currentPlan = plan;
    const samples: number[] = [];
    const executions: number[] = [];
    let calls = 0;
    let promptTokens = 0;
    const repeats = RUNS;
    for (let i = 0; i < repeats; i++) {
      const before = server.requests.length;
      const started = performance.now();
      let firstStart = Number.POSITIVE_INFINITY;
      let lastEnd = 0;
      const result = await jarvis.run({
        request: `benchmark ${name}`,
        cwd: dataDir,
        onEvent: (event) => {
          if (event.type === 'task-start') firstStart = Math.min(firstStart, performance.now());
          if (event.type === 'task-end') lastEnd = performance.now();
        },
      });
      samples.push(performance.now() - started);
      executions.push(lastEnd - firstStart);
      if (result.tasks.some((task) => task.status !== 'succeeded')) {
        throw new Error(
          `${name}: ${JSON.stringify(result.tasks.find((task) => task.status !== 'succeeded'))}`,
        );
      }
      calls = server.requests.length - before;
      promptTokens = result.usage.inputTokens;
    }
    const dag = criticalPath(plan, TASK_LATENCY_MS);
    const floor = dag + calls * LLM_LATENCY_MS;
    const wall = median(samples);
    const execution = median(executions);
    rows.push([
      name,
      String(plan.length),
      dag.toFixed(0),
      `${execution.toFixed(0)} ${spread(executions, 0)}`,
      (execution / dag).toFixed(3),
      floor.toFixed(0),
      `${wall.toFixed(0)} ${spread(samples, 0)}`,
      (wall / floor).toFixed(3),
      (wall - floor).toFixed(0),
      String(calls),
      String(promptTokens),
    ]);
  }
  await jarvis.close();
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });

  const header = [
    'shape',
    'tasks',
    'dag ms',
    'exec ms',
    'exec/dag',
    'floor ms',
    'wall ms',
    'wall/floor',
    'overhead ms',
    'LLM calls',
    'prompt tokens',
  ];
  console.log(
    `LLM latency ${LLM_LATENCY_MS} ms per call, task latency ${TASK_LATENCY_MS} ms; median (min-max) of ${RUNS} runs per shape`,
  );
  console.log(formatTable(header, rows));
}

console.log(formatPromptTokens(await measurePromptTokens()));
console.log('');
await main();
