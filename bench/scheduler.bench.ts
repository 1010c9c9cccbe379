/**
 * How close the stage-3 scheduler gets to the floor a perfect scheduler would reach.
 *
 *   npm run bench:scheduler -- [--repeat 5]   (at least 5)
 *
 * Each task sleeps a fixed latency (20-50 ms, seeded) in the test backend, so the floor of a graph is its
 * critical path (the longest latency-weighted path) when concurrency does not bind, and the makespan of an
 * ideal zero-overhead FIFO list schedule when it does. Overhead = wall time - floor: scheduling, argument
 * resolution, events, artifact writes and the timers' own lateness.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { seededRandom } from '../scripts/seeded-random.js';
import type { ModelChoice, PlannedTask, TaskGraph, TaskName } from '../src/core/index.js';
import { executePlan } from '../src/execute/index.js';
import { createTestBackend } from '../test/support/test-backend.js';
import { median, option, spread } from './stats.js';
import { formatTable } from './table.js';

interface Shape {
  name: string;
  plan: TaskGraph;
  latencies: Map<number, number>;
}

function node(
  id: number,
  deps: number[],
  task: TaskName = 'text-generation',
  kind: 'text' | 'image' = 'text',
): PlannedTask {
  // The first dependency's output feeds this task, so every edge also exercises `<GENERATED>-k` resolution.
  const args = deps.length === 0 ? { text: `input ${id}` } : { [kind]: `<GENERATED>-${deps[0]}` };
  return { id, task, dep: deps.length === 0 ? [-1] : deps, args };
}

function withLatencies(name: string, plan: TaskGraph, seed: number, low = 20, high = 50): Shape {
  const next = seededRandom(seed);
  return {
    name,
    plan,
    latencies: new Map(plan.map((task) => [task.id, Math.round(low + next() * (high - low))])),
  };
}

function wide(count: number): Shape {
  return withLatencies(
    'wide',
    Array.from({ length: count }, (_, id) => node(id, [])),
    1,
  );
}

function deep(count: number): Shape {
  return withLatencies(
    'deep',
    Array.from({ length: count }, (_, id) => node(id, id === 0 ? [] : [id - 1])),
    2,
  );
}

/** Layers of growing then shrinking width; each task takes 1-3 tasks of the layer above (fan-in and fan-out). */
function layered(widths: number[], seed: number, name = 'layered', media = false): Shape {
  const next = seededRandom(seed);
  const plan: PlannedTask[] = [];
  let previous: number[] = [];
  for (const width of widths) {
    const layer: number[] = [];
    for (let i = 0; i < width; i++) {
      const id = plan.length;
      const deps = new Set<number>();
      const wanted = previous.length === 0 ? 0 : 1 + Math.floor(next() * Math.min(3, previous.length));
      while (deps.size < wanted) deps.add(previous[Math.floor(next() * previous.length)]!);
      if (media) {
        plan.push(node(id, [...deps], deps.size === 0 ? 'text-to-image' : 'image-to-image', 'image'));
      } else {
        plan.push(node(id, [...deps]));
      }
      layer.push(id);
    }
    previous = layer;
  }
  return withLatencies(name, plan, seed + 100);
}

/** Each task depends on each earlier one with probability `density` (at most 3 dependencies). */
function randomDag(count: number, density: number, seed: number): Shape {
  const next = seededRandom(seed);
  const plan = Array.from({ length: count }, (_, id) => {
    const deps: number[] = [];
    for (let earlier = 0; earlier < id && deps.length < 3; earlier++)
      if (next() < density) deps.push(earlier);
    return node(id, deps);
  });
  return withLatencies(`random(seed ${seed})`, plan, seed + 200);
}

/** Longest latency-weighted path; plans list dependencies before dependants, so one pass suffices. */
function criticalPath(shape: Shape, latencies = shape.latencies): number {
  const finish = new Map<number, number>();
  for (const task of shape.plan) {
    const ready = Math.max(0, ...task.dep.filter((dep) => dep >= 0).map((dep) => finish.get(dep)!));
    finish.set(task.id, ready + latencies.get(task.id)!);
  }
  return Math.max(...finish.values());
}

/** Makespan of an ideal scheduler with the same policy (ready tasks start in FIFO order) and zero overhead. */
function idealMakespan(shape: Shape, concurrency: number): number {
  const deps = new Map(shape.plan.map((task) => [task.id, task.dep.filter((dep) => dep >= 0)]));
  const remaining = new Map(shape.plan.map((task) => [task.id, deps.get(task.id)!.length]));
  const queue = shape.plan.filter((task) => remaining.get(task.id) === 0).map((task) => task.id);
  const running: { id: number; end: number }[] = [];
  let now = 0;
  while (queue.length > 0 || running.length > 0) {
    while (running.length < concurrency && queue.length > 0) {
      const id = queue.shift()!;
      running.push({ id, end: now + shape.latencies.get(id)! });
    }
    running.sort((a, b) => a.end - b.end);
    const done = running.shift()!;
    now = done.end;
    for (const task of shape.plan) {
      if (!deps.get(task.id)!.includes(done.id)) continue;
      const left = remaining.get(task.id)! - 1;
      remaining.set(task.id, left);
      if (left === 0) queue.push(task.id);
    }
  }
  return now;
}

interface Measurement {
  wall: number;
  /** How long each task really spent inside the backend: its latency plus the lateness of its timer. */
  backendMs: Map<number, number>;
}

async function measure(shape: Shape, concurrency: number, scratch: string): Promise<Measurement> {
  const backend = createTestBackend({
    id: 'bench',
    latencyMs: (request) => shape.latencies.get(Number(request.modelId.slice(1)))!,
    tasks: ['text-generation', 'text-to-image', 'image-to-image'],
  });
  const choices = new Map<number, ModelChoice>(
    shape.plan.map((task) => [
      task.id,
      { taskId: task.id, modelId: `m${task.id}`, backend: 'bench', reason: '', candidates: [] },
    ]),
  );
  const outputDir = await mkdtemp(join(scratch, 'run-'));
  const started = performance.now();
  const results = await executePlan({
    plan: shape.plan,
    choices,
    backends: new Map([['bench', backend]]),
    inputs: {
      cwd: outputDir,
      allowedFiles: [],
      allowedDirs: [],
      allowPrivateUrls: false,
      maxDownloadBytes: 1,
      urlTimeoutMs: 1,
    },
    outputDir,
    concurrency,
    taskTimeoutMs: 60_000,
  });
  const wall = performance.now() - started;
  const failed = results.filter((result) => result.status !== 'succeeded');
  if (failed.length > 0)
    throw new Error(`${shape.name}: ${failed.length} tasks did not succeed: ${failed[0]!.error!.message}`);
  if (backend.maxConcurrent > concurrency)
    throw new Error(`${shape.name}: concurrency ${backend.maxConcurrent} > ${concurrency}`);
  const backendMs = new Map(
    backend.calls.map((call) => [Number(call.modelId.slice(1)), call.endedAt! - call.startedAt]),
  );
  return { wall, backendMs };
}

const repeat = Math.max(5, Number(option('repeat', '5')));
const scratch = await mkdtemp(join(tmpdir(), 'jarvis-scheduler-bench-'));

const shapes = [
  wide(50),
  deep(50),
  layered([1, 4, 8, 12, 12, 8, 4, 1], 3, 'layered'),
  randomDag(50, 0.08, 11),
  randomDag(50, 0.08, 12),
  randomDag(50, 0.2, 13),
  layered([2, 6, 10, 14, 10, 6, 2], 4, 'layered images', true),
];
const runs: { shape: Shape; concurrency: number }[] = [
  ...shapes.map((shape) => ({ shape, concurrency: 64 })),
  { shape: shapes[0]!, concurrency: 4 },
  { shape: shapes[2]!, concurrency: 4 },
  { shape: shapes[3]!, concurrency: 2 },
];

// One unmeasured run so module loading and JIT warm-up do not land on the first row.
await measure(shapes[2]!, 64, scratch);

const rows: string[][] = [];
for (const { shape, concurrency } of runs) {
  const measurements: Measurement[] = [];
  for (let i = 0; i < repeat; i++) measurements.push(await measure(shape, concurrency, scratch));
  const walls = measurements.map((measurement) => measurement.wall);
  const wall = median(walls);
  const critical = criticalPath(shape);
  const work = [...shape.latencies.values()].reduce((sum, latency) => sum + latency, 0);
  const lowerBound = Math.max(critical, work / concurrency);
  const floor = idealMakespan(shape, concurrency);
  // The scheduler's own share: wall time beyond the critical path of the time tasks really spent in the
  // backend (only meaningful where concurrency does not bind).
  const ownShare =
    concurrency >= shape.plan.length
      ? median(
          measurements.map((measurement) => measurement.wall - criticalPath(shape, measurement.backendMs)),
        ).toFixed(1)
      : '';
  rows.push([
    shape.name,
    String(shape.plan.length),
    String(concurrency),
    critical.toFixed(0),
    lowerBound.toFixed(0),
    floor.toFixed(0),
    `${wall.toFixed(1)} ${spread(walls)}`,
    (wall / floor).toFixed(3),
    (wall - floor).toFixed(1),
    ownShare,
  ]);
}

const header = [
  'shape',
  'tasks',
  'concurrency',
  'critical path ms',
  'lower bound ms',
  'floor ms',
  'wall ms',
  'wall/floor',
  'overhead ms',
  'scheduler ms',
];
console.log(
  `median (min-max) of ${repeat} runs. lower bound = max(critical path, total work / concurrency);`,
);
console.log(
  'floor = makespan of an ideal zero-overhead FIFO scheduler (= critical path when concurrency does not bind);',
);
console.log(
  'overhead = wall - floor; scheduler = wall - critical path of the measured backend times (timer lateness excluded)',
);
console.log(formatTable(header, rows));

// The scheduler's own cost per task, with backends that answer at once (no timers at all).
console.log(`\nzero-latency backends: scheduler cost per task, median (min-max) of ${repeat} runs`);
for (const [name, shape] of [
  ['wide', wide(500)],
  ['deep', deep(500)],
  ['random(seed 21)', randomDag(500, 0.01, 21)],
] as const) {
  const instant: Shape = { ...shape, latencies: new Map(shape.plan.map((task) => [task.id, 0])) };
  const walls: number[] = [];
  for (let i = 0; i < repeat; i++) walls.push((await measure(instant, 64, scratch)).wall);
  console.log(
    `  ${name.padEnd(16)} ${instant.plan.length} tasks  ${(median(walls) / instant.plan.length).toFixed(3)} ${spread(
      walls.map((wall) => wall / instant.plan.length),
      3,
    )} ms/task`,
  );
}
await rm(scratch, { recursive: true, force: true });
