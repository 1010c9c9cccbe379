/**
 * Generated and mutated LLM replies and plans for the plan-reading fuzzer. A case is a pure function of
 * (seed, index), so a worker can rebuild any case from two numbers: the main thread never holds or copies
 * the big ones, and a failure is replayed with `npm run fuzz -- --seed S --only INDEX`.
 */
import { seededRandom } from '../../scripts/seeded-random.js';
import { CONTROL_TASKS, TASK_NAMES, type TaskName, taskSignature } from '../../src/core/tasks.js';

/** What the case goes through: an LLM reply (planning), a plan file, a plan given as data, a name, or select's reader. */
export type FuzzCase =
  | { kind: 'reply'; family: string; text: string }
  | { kind: 'file'; family: string; json: unknown }
  | { kind: 'given'; family: string; tasks: unknown[] }
  | { kind: 'name'; family: string; name: string }
  | { kind: 'select'; family: string; text: string };

class Random {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = seededRandom(seed);
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
}

/** Names from the prototype of every object, and spellings that normalise to them. */
export const PROTOTYPE_NAMES = [
  '__proto__',
  'constructor',
  'Constructor',
  'con_structor',
  'CONSTRUCTOR',
  'toString',
  'to string',
  'valueOf',
  'hasOwnProperty',
  'has_own_property',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  '__defineGetter__',
  '__lookupSetter__',
  'prototype',
];

const NEAR_MISSES = [
  'Object Detection',
  'object_detection',
  'objectdetection',
  'NER',
  'tts',
  'Image Captioning',
  'speech synthesis',
  'image-captioning-pro',
  'run-object-detection',
  'zebra-counter',
  'Text Summarizer',
  'Image Editing',
  'voice recognition',
  'text to image',
];

const WORDS = [
  'image',
  'text',
  'to',
  'object',
  'detection',
  'speech',
  'a',
  'the',
  'zebra',
  'classify',
  'é',
  '漢字',
];

function taskName(random: Random): string {
  const roll = random.next();
  if (roll < 0.7) return random.pick(TASK_NAMES);
  if (roll < 0.82) return random.pick(NEAR_MISSES);
  if (roll < 0.92) return random.pick(PROTOTYPE_NAMES);
  if (roll < 0.97) return longName(random, random.int(10, 60));
  return random.pick(['', ' ', '\u0000', '-', '--', '__', 'a'.repeat(random.int(100, 5000))]);
}

function longName(random: Random, words: number): string {
  const separator = random.pick([' ', '-', '_', ' - ']);
  return Array.from({ length: words }, () => (random.chance(0.5) ? random.pick(WORDS) : 'x')).join(separator);
}

const IMAGES = ['a.jpg', 'b.png', 'https://example.com/zebra.jpg', 'data:image/png;base64,iVBOR', 'c.webp'];
const AUDIO = ['s.wav', 'speech.mp3', 'https://example.com/a.flac'];
const VIDEO = ['v.mp4', 'clip.mov'];

function ref(id: number, random: Random): string {
  return random.pick([
    `<GENERATED>-${id}`,
    `<GENERATED>-${id}`,
    `<GENERATED-${id}>`,
    `<generated> - ${id}`,
    `<GENERATED_${id}>`,
    `<GENERATED>-{${id}}`,
    `<GENERATED>${id}`,
  ]);
}

/** An id some task could mean: earlier (fine), itself, later, missing or negative. */
function targetId(random: Random, id: number, count: number): number {
  const roll = random.next();
  if (roll < 0.7 && id > 0) return random.int(0, id - 1);
  if (roll < 0.8) return id;
  if (roll < 0.9) return random.int(0, count + 2);
  return random.pick([-1, 999, 2 ** 31, Number.MAX_SAFE_INTEGER]);
}

function valueFor(kind: string, random: Random, id: number, count: number): unknown {
  const roll = random.next();
  if (roll < 0.3 && count > 1) return ref(targetId(random, id, count), random);
  if (roll < 0.4) {
    const files = kind === 'audio' ? AUDIO : kind === 'video' ? VIDEO : IMAGES;
    const many = random.int(2, random.chance(0.2) ? 400 : 6);
    const list = Array.from({ length: many }, (_, index) => `${index}-${random.pick(files)}`);
    return random.chance(0.5) ? list : list.join(random.pick([',', ', ', ' and ', ';']));
  }
  if (roll < 0.45) return random.pick([42, true, null, { nested: 'x' }, [1, [2]], '', '   ']);
  if (roll < 0.5 && count > 1) {
    const refs = Array.from({ length: random.int(2, 5) }, () => ref(targetId(random, id, count), random));
    return random.chance(0.5) ? refs.join(', ') : `Compare ${refs.join(' and ')} please`;
  }
  switch (kind) {
    case 'image':
      return random.pick(IMAGES);
    case 'audio':
      return random.pick(AUDIO);
    case 'video':
      return random.pick(VIDEO);
    default:
      return random.pick([
        'How many zebras are there?',
        "it's a 'quoted' text, with commas; and semicolons",
        `Translate ${ref(Math.max(0, id - 1), random)} into French`,
        'x'.repeat(random.int(1, 2000)),
        '[sic] {see below}',
      ]);
  }
}

const EXTRA_KEYS = [
  'img',
  'prompt',
  'file',
  'url',
  'weird',
  '__proto__',
  'constructor',
  'toString',
  'Image',
  'input text',
];

function hugginggptTask(random: Random, id: number, count: number): Record<string, unknown> {
  const name = taskName(random);
  const known = (TASK_NAMES as readonly string[]).includes(name) ? (name as TaskName) : undefined;
  const kinds = known ? [...taskSignature(known).inputs] : ['text', 'image'];
  const args: Record<string, unknown> = {};
  for (const kind of kinds) if (random.chance(0.85)) args[kind] = valueFor(kind, random, id, count);
  if (random.chance(0.15)) {
    Object.defineProperty(args, random.pick(EXTRA_KEYS), {
      value: valueFor('text', random, id, count),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  const task: Record<string, unknown> = {};
  const idForm = random.next();
  if (idForm < 0.8) task.id = id;
  else if (idForm < 0.88) task.id = `task-${id}`;
  else if (idForm < 0.94) task.id = random.int(0, count);
  task[random.chance(0.9) ? 'task' : random.pick(['tool', 'name'])] = name;
  if (random.chance(0.8)) task.dep = [random.chance(0.5) ? -1 : targetId(random, id, count)];
  task[random.chance(0.92) ? 'args' : 'arguments'] = random.chance(0.95)
    ? args
    : random.pick([Object.values(args), 'a.jpg', 7, null]);
  return task;
}

function hugginggptPlan(random: Random, count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, id) => hugginggptTask(random, id, count));
}

const TASKBENCH_TOOLS = [
  'Object Detection',
  'Image Editing',
  'Text Summarizer',
  'Text Translator',
  'Audio-to-Text',
  'Text-to-Image',
  'Image Segmentation',
  'Video Downloader',
  'Constructor',
  '__proto__',
];

function taskBenchPlan(random: Random, count: number): Record<string, unknown> {
  const tools = Array.from({ length: count }, () =>
    random.chance(0.7) ? random.pick(TASKBENCH_TOOLS) : taskName(random),
  );
  const nodes = tools.map((tool, index) => {
    const argument = (): unknown => {
      const roll = random.next();
      if (roll < 0.3 && count > 1) return `<node-${targetId(random, index, count) + random.int(0, 1)}>`;
      if (roll < 0.4) return { from: random.pick(tools) };
      if (roll < 0.5) return `<output_of_${random.pick(tools).replace(/ /g, '_')}>`;
      if (roll < 0.55) return '<placeholder>';
      return random.chance(0.5) ? random.pick(IMAGES) : 'A sentence to work on.';
    };
    const args = Array.from({ length: random.int(0, 3) }, argument);
    return {
      task: tool,
      arguments: random.chance(0.8) ? args : Object.fromEntries(args.map((value, i) => [`arg${i}`, value])),
      ...(random.chance(0.3) ? { output: [`out_${index}`] } : {}),
    };
  });
  const links = tools.slice(1).map((tool, index) => ({ source: tools[index], target: tool }));
  return { task_nodes: random.chance(0.95) ? nodes : { step_1: nodes[0] }, task_links: links };
}

/** A serialisation an LLM might write: JSON, Python-ish quotes, trailing commas, one object per line. */
function write(random: Random, value: unknown): string {
  const json = JSON.stringify(value, null, random.chance(0.5) ? 2 : undefined) ?? 'null';
  const roll = random.next();
  if (roll < 0.6) return json;
  if (roll < 0.7) return json.replace(/"/g, "'");
  if (roll < 0.8) return json.replace(/([}\]])/g, ',$1');
  if (roll < 0.88) return json.replace(/true/g, 'True').replace(/null/g, 'None');
  if (Array.isArray(value)) return value.map((item) => JSON.stringify(item)).join('\n');
  return json;
}

/** Prose, fences and thinking around the JSON, and output cut off, as LLMs reply. */
function decorate(random: Random, body: string): string {
  let text = body;
  if (random.chance(0.3)) text = `\`\`\`${random.pick(['json', '', 'JSON', 'js'])}\n${text}\n\`\`\``;
  if (random.chance(0.3)) text = `Sure! Here is the plan [sic]:\n${text}\nLet me know {if} you need more.`;
  if (random.chance(0.1)) text = `<think>Maybe [{"task": "draft"}] first</think>${text}`;
  if (random.chance(0.1)) text = `{"tasks": ${text}}`;
  if (random.chance(0.15)) text = text.slice(0, random.int(0, text.length));
  return text;
}

/** Random edits of a text: the output of an LLM that loses track, or of a transport that mangles it. */
function mutate(random: Random, text: string): string {
  let out = text;
  const edits = random.int(1, 8);
  for (let edit = 0; edit < edits && out.length > 0; edit++) {
    const at = random.int(0, out.length - 1);
    const roll = random.next();
    if (roll < 0.3) out = out.slice(0, at) + out.slice(at + random.int(1, 20));
    else if (roll < 0.6)
      out =
        out.slice(0, at) +
        random.pick(['{', '}', '[', ']', '"', "'", ',', ':', '\\', '\n', '<GENERATED>-', '```']) +
        out.slice(at);
    else if (roll < 0.8) {
      const length = random.int(1, 200);
      out = out.slice(0, at) + out.slice(at, at + length).repeat(random.int(2, 6)) + out.slice(at);
    } else out = out.slice(0, at) + String.fromCharCode(random.int(0, 0x2fff)) + out.slice(at + 1);
  }
  return out;
}

/** 35 summarization tasks each reading the two before: unfolding copies grows like Fibonacci. */
export function fibonacciBomb(count: number): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    task: 'summarization',
    dep: id < 2 ? [-1] : [id - 1, id - 2],
    args: { text: id < 2 ? `Text ${id}` : `<GENERATED>-${id - 1} and <GENERATED>-${id - 2}` },
  }));
}

/** A text reading several tasks each of which lists several files: copies multiply. */
function productBomb(random: Random): Record<string, unknown>[] {
  const producers = random.int(4, 12);
  const files = random.int(2, 8);
  const tasks: Record<string, unknown>[] = Array.from({ length: producers }, (_, id) => ({
    id,
    task: 'image-to-text',
    args: { image: Array.from({ length: files }, (_, index) => `p${id}-${index}.jpg`) },
  }));
  const refs = Array.from({ length: producers }, (_, id) => `<GENERATED>-${id}`);
  tasks.push({ id: producers, task: 'summarization', args: { text: `Join ${refs.join(' with ')}.` } });
  return tasks;
}

function wideLists(random: Random): Record<string, unknown>[] {
  const files = random.int(100, 500);
  return [0, 1].map((id) => ({
    id,
    task: 'image-classification',
    args: { image: Array.from({ length: files }, (_, index) => `${id}-${index}.jpg`) },
  }));
}

function chain(count: number, backwards: boolean): Record<string, unknown>[] {
  return Array.from({ length: count }, (_, id) => ({
    id,
    task: 'summarization',
    args: { text: id === 0 ? 'start' : `<GENERATED>-${backwards ? (id + 1) % count : id - 1}` },
  }));
}

function deepValue(depth: number, random: Random): unknown {
  let value: unknown = 'bottom';
  const asObject = random.chance(0.5);
  for (let level = 0; level < depth; level++) value = asObject ? { a: value } : [value];
  return value;
}

function deepText(random: Random, depth: number): string {
  const roll = random.next();
  if (roll < 0.3) return '['.repeat(depth);
  if (roll < 0.6) return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
  if (roll < 0.8)
    return `[{"task": "summarization", "args": {"text": ${'['.repeat(depth)}"x"${']'.repeat(depth)}}}]`;
  return `${'[{'.repeat(depth)}`;
}

/** Long replies where every bracket opens a segment reaching the end: the old reader's quadratic case. */
function bracketFlood(random: Random, chars: number): string {
  const pieces = ['[', '{', ' the ', '"', "'", 'a, ', ': ', '[{"task": "', '<GENERATED>-1', '\n'];
  let text = '';
  while (text.length < chars) text += random.pick(pieces);
  return text;
}

function hugeStringPlan(random: Random): Record<string, unknown>[] {
  const size = random.pick([50_000, 120_000, 200_000, 400_000]);
  const text = random.chance(0.5) ? 'word '.repeat(size / 5) : `${'<GENERATED>-0 and '.repeat(size / 18)}.`;
  return [
    { id: 0, task: 'summarization', args: { text: 'a' } },
    { id: 1, task: 'token-classification', args: { text } },
  ];
}

function manyArguments(random: Random): Record<string, unknown>[] {
  const count = random.int(20, 5000);
  const args: Record<string, unknown> = {};
  for (let index = 0; index < count; index++) args[random.chance(0.5) ? `k${index}` : `text${index}`] = 'v';
  const bare = Array.from({ length: count }, (_, index) => `item ${index}`);
  return [{ id: 0, task: 'summarization', args: random.chance(0.5) ? args : bare }];
}

/** A plan as an LLM might write it, decorated. */
function planText(random: Random, tasks: unknown[]): string {
  return decorate(random, write(random, tasks));
}

export function generateCase(seed: number, index: number): FuzzCase {
  const random = new Random((seed * 1_000_003 + index * 7919) >>> 0);
  const roll = random.next();
  const small = () => random.int(0, random.chance(0.1) ? 80 : 8);
  if (roll < 0.3) {
    const text = planText(random, hugginggptPlan(random, small()));
    return { kind: 'reply', family: 'hugginggpt reply', text };
  }
  if (roll < 0.45) {
    const text = mutate(random, planText(random, hugginggptPlan(random, small())));
    return { kind: 'reply', family: 'mutated reply', text };
  }
  if (roll < 0.55) {
    const plan = taskBenchPlan(random, small());
    if (random.chance(0.5)) return { kind: 'file', family: 'taskbench file', json: plan };
    return { kind: 'reply', family: 'taskbench reply', text: decorate(random, write(random, plan)) };
  }
  if (roll < 0.63) {
    const plan = hugginggptPlan(random, small());
    const json = random.chance(0.2) ? { tasks: plan } : random.chance(0.1) ? write(random, plan) : plan;
    return { kind: 'file', family: 'hugginggpt file', json };
  }
  if (roll < 0.7) return { kind: 'given', family: 'given plan', tasks: hugginggptPlan(random, small()) };
  if (roll < 0.74) {
    const bomb = fibonacciBomb(random.int(10, 60));
    return random.chance(0.5)
      ? { kind: 'given', family: 'fibonacci unfold bomb', tasks: bomb }
      : { kind: 'reply', family: 'fibonacci unfold bomb', text: JSON.stringify(bomb) };
  }
  if (roll < 0.76) return { kind: 'given', family: 'product unfold bomb', tasks: productBomb(random) };
  if (roll < 0.78) {
    const tasks = wideLists(random);
    return random.chance(0.5)
      ? { kind: 'given', family: 'wide file lists', tasks }
      : { kind: 'reply', family: 'wide file lists', text: JSON.stringify(tasks) };
  }
  if (roll < 0.8) {
    const tasks = chain(random.pick([100, 1000, 10_000]), random.chance(0.5));
    return random.chance(0.7)
      ? { kind: 'given', family: 'long chain', tasks }
      : { kind: 'reply', family: 'long chain', text: JSON.stringify(tasks) };
  }
  if (roll < 0.83) {
    const depth = random.pick([50, 1000, 20_000]);
    if (random.chance(0.5)) return { kind: 'reply', family: 'deep nesting', text: deepText(random, depth) };
    const tasks = [{ id: 0, task: 'summarization', args: { text: deepValue(depth, random) } }];
    return random.chance(0.5)
      ? { kind: 'given', family: 'deep nesting', tasks }
      : {
          kind: 'file',
          family: 'deep nesting',
          json: { task_nodes: [{ task: 'Text Summarizer', arguments: [deepValue(depth, random)] }] },
        };
  }
  if (roll < 0.86) {
    const text = bracketFlood(random, random.pick([20_000, 100_000, 198_000, 400_000]));
    return random.chance(0.8)
      ? { kind: 'reply', family: 'bracket flood', text }
      : { kind: 'select', family: 'bracket flood', text };
  }
  if (roll < 0.88) {
    const tasks = hugeStringPlan(random);
    return random.chance(0.5)
      ? { kind: 'given', family: 'huge strings', tasks }
      : { kind: 'reply', family: 'huge strings', text: JSON.stringify(tasks) };
  }
  if (roll < 0.9) {
    const tasks = manyArguments(random);
    return random.chance(0.5)
      ? { kind: 'given', family: 'many arguments', tasks }
      : { kind: 'reply', family: 'many arguments', text: JSON.stringify(tasks) };
  }
  if (roll < 0.95) {
    const name = random.chance(0.5)
      ? random.pick([...PROTOTYPE_NAMES, ...NEAR_MISSES, ...CONTROL_TASKS])
      : longName(random, random.pick([5, 50, 500, 800]));
    if (random.chance(0.5)) return { kind: 'name', family: 'task names', name };
    const tasks = [
      { id: 0, task: name, args: random.chance(0.5) ? { text: 'hello' } : { text: 'hello', image: 'a.jpg' } },
    ];
    return random.chance(0.5)
      ? { kind: 'given', family: 'task names', tasks }
      : { kind: 'reply', family: 'task names', text: JSON.stringify(tasks) };
  }
  const text = mutate(random, decorate(random, write(random, { choices: [{ task_id: 0, model: 'a:b' }] })));
  return { kind: 'select', family: 'select reply', text };
}
