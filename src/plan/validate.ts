import { z } from 'zod';
import { generatedRef, type PlannedTask, type TaskArgs, type TaskGraph } from '../core/graph.js';
import { nestedDeeperThan } from '../core/lenient-json.js';
import {
  MAX_ARGUMENT_CHARS,
  MAX_ARGUMENTS_PER_TASK,
  MAX_ITEMS_PER_ARGUMENT,
  MAX_NESTING_DEPTH,
  MAX_SUGGESTIONS,
  MAX_TASK_NAME_CHARS,
  MAX_TASKS,
} from '../core/plan-limits.js';
import { isRecord } from '../core/records.js';
import {
  HUGGING_FACE_TASKS,
  RESOURCE_KINDS,
  type ResourceKind,
  type TaskName,
  type TaskVocabulary,
} from '../core/tasks.js';
import {
  inferKindFromValue,
  isResourceKind,
  normalizeReferenceText,
  referencesIn,
  splitResourceList,
} from './references.js';

export interface ValidateOptions<Name extends string = TaskName> {
  /** The tasks a plan may name, with their argument and output kinds. Default: the built-in Hugging Face list. */
  vocabulary?: TaskVocabulary<Name>;
  /** Tasks that can run here (e.g. those with a model); others are rejected. Default: the whole vocabulary. */
  availableTasks?: readonly Name[];
  /**
   * Most tasks a plan may have, as listed and after unfolding lists; a bigger plan is a problem, not a run.
   * Default MAX_TASKS (64).
   */
  maxTasks?: number;
}

export interface ValidatedPlan<Name extends string = TaskName> {
  /**
   * The tasks that passed, renumbered 0..n-1 in dependency order with `dep` derived from the arguments.
   * When there are problems it holds only the tasks untouched by them, for diagnostics; callers treat a
   * plan with problems as not runnable.
   */
  plan: TaskGraph<Name>;
  /** Short sentences the LLM can act on in a repair round; empty when the plan is valid. */
  problems: string[];
}

/** How a raw task is allowed to look before we make sense of it: almost anything with a task name. */
const rawTaskSchema = z
  .object({
    task: z.string().optional(),
    tool: z.string().optional(),
    name: z.string().optional(),
    id: z.union([z.number(), z.string()]).nullish(),
    args: z.unknown().optional(),
    arguments: z.unknown().optional(),
  })
  .loose();

/** Argument names LLMs use for our four kinds (looked up with Object.hasOwn: "constructor" is no alias). */
const KEY_ALIASES: Record<string, ResourceKind> = {
  img: 'image',
  picture: 'image',
  photo: 'image',
  images: 'image',
  image_url: 'image',
  image_path: 'image',
  image_file: 'image',
  speech: 'audio',
  sound: 'audio',
  audios: 'audio',
  audio_url: 'audio',
  audio_path: 'audio',
  audio_file: 'audio',
  clip: 'video',
  videos: 'video',
  video_url: 'video',
  video_path: 'video',
  video_file: 'video',
  prompt: 'text',
  question: 'text',
  query: 'text',
  sentence: 'text',
  input_text: 'text',
  texts: 'text',
  content: 'text',
};

/** Argument names that say nothing about the kind: the value decides (extension, or the producing task). */
const GENERIC_KEYS = new Set(['file', 'path', 'url', 'input', 'inputs', 'src', 'source', 'resource', 'data']);

/** A piece of a text that embeds references: literal text, or the output of the task with this uid. */
type Piece = string | { ref: number };

/**
 * One value of an argument: a literal, a whole reference to another task's output, or a text with
 * references inside it ("Translate <GENERATED>-0 into French"), which stage 3 fills in with each task's text.
 */
type Item = { literal: string } | { ref: number } | { embedded: Piece[]; source: string };

interface Argument {
  key: string;
  /** From a bare list (TaskBench style) rather than a named argument. */
  bare: boolean;
  kind: ResourceKind | 'infer';
  values: string[];
}

interface Draft {
  uid: number;
  position: number;
  /** The id the LLM gave, used to name the task in problems. */
  givenId: number | undefined;
  task: string | undefined;
  rawArgs: Argument[];
  args: Map<ResourceKind, Item[]>;
  invalid: boolean;
}

/**
 * Checks a task list against the vocabulary and the rules of HuggingGPT's plans, fixing what has one
 * obvious fix (near-miss task names, misspelt references, missing or wrong `dep`, string ids, lists of
 * outputs in one argument) and describing the rest as problems.
 */
export function validatePlan<Name extends string = TaskName>(
  tasks: unknown[],
  options: ValidateOptions<Name> = {},
): ValidatedPlan<Name> {
  const problems: string[] = [];
  // Names are plain strings inside; the plan handed back only holds names the vocabulary resolved.
  const vocabulary = (options.vocabulary ?? HUGGING_FACE_TASKS) as TaskVocabulary<string>;
  const maxTasks = options.maxTasks ?? MAX_TASKS;
  // Plans given as data (an HTTP body, a library call) arrive untyped.
  if (!Array.isArray(tasks)) {
    return {
      plan: [],
      problems: ['The plan must be a list of tasks like [{"task": ..., "id": 0, "args": {...}}].'],
    };
  }
  // Every later step is bounded by the number of tasks (the cycle search, unfolding, ordering), so a list
  // longer than any plan may be is refused before any of them.
  if (tasks.length > maxTasks) {
    return { plan: [], problems: [`The plan has ${tasks.length} tasks; use at most ${maxTasks}.`] };
  }
  const available = options.availableTasks
    ? new Set<string>(options.availableTasks.filter((task) => vocabulary.get(task) !== undefined))
    : undefined;
  const drafts: Draft[] = [];
  const budget = { suggestions: MAX_SUGGESTIONS };

  tasks.forEach((raw, position) => {
    const draft = readDraft(raw, position, drafts.length, problems, { vocabulary, available, budget });
    if (draft) drafts.push(draft);
  });

  const byId = assignIds(drafts);
  for (const draft of drafts) resolveArguments(draft, byId, problems, vocabulary);
  for (const cycle of findCycles(drafts)) {
    const ids = cycle.map((draft) => idOf(draft));
    const path = cyclePath(cycle).map((draft) => idOf(draft));
    problems.push(
      `Tasks ${ids.join(', ')} depend on each other in a cycle (outputs flow ${path.join(' -> ')}); a task can only use outputs of tasks that do not need its own output.`,
    );
    for (const draft of cycle) draft.invalid = true;
  }
  const byUid = new Map(drafts.map((draft) => [draft.uid, draft]));
  for (const draft of drafts) if (!draft.invalid) checkKinds(draft, byUid, problems, vocabulary);
  excludeDependantsOfInvalid(drafts, byUid);

  const valid = unfold(
    drafts.filter((draft) => !draft.invalid),
    drafts.length,
    maxTasks,
  );
  if (typeof valid === 'number') {
    problems.push(
      `The plan has ${valid} or more tasks after splitting lists of inputs into one task each; use at most ${maxTasks} tasks.`,
    );
    return { plan: [], problems };
  }
  return { plan: toGraph(valid) as TaskGraph<Name>, problems };
}

function describeId(givenId: number | undefined, position: number): string {
  return givenId === undefined ? `The task at position ${position + 1}` : `Task ${givenId}`;
}

function idOf(draft: Draft): string {
  return draft.givenId === undefined ? `#${draft.position + 1}` : String(draft.givenId);
}

function labelOf(draft: Draft): string {
  const base = describeId(draft.givenId, draft.position);
  return draft.task ? `${base} (${draft.task})` : base;
}

/** An integer id from `3`, `"3"`, `"task-3"`, `"#3"`; undefined when there is none. */
function readId(value: unknown): number | undefined {
  if (typeof value === 'number' && Number.isInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const digits = /(\d+)\s*$/.exec(value.trim())?.[1];
    if (digits !== undefined) return Number(digits);
  }
  return undefined;
}

interface NameContext {
  vocabulary: TaskVocabulary<string>;
  available: Set<string> | undefined;
  budget: { suggestions: number };
}

function readDraft(
  raw: unknown,
  position: number,
  uid: number,
  problems: string[],
  { vocabulary, available, budget }: NameContext,
): Draft | undefined {
  const maxNameChars = Math.max(MAX_TASK_NAME_CHARS, ...vocabulary.names.map((known) => known.length));
  const parsed = rawTaskSchema.safeParse(raw);
  if (!isRecord(raw) || !parsed.success) {
    problems.push(
      `Item ${position + 1} of the list is not a task object like {"task": ..., "id": ..., "args": {...}}.`,
    );
    return undefined;
  }
  const value = parsed.data;
  const givenId = readId(value.id);
  const name = value.task ?? value.tool ?? value.name;
  const draft: Draft = {
    uid,
    position,
    givenId,
    task: undefined,
    rawArgs: [],
    args: new Map(),
    invalid: false,
  };
  const label = describeId(givenId, position);
  if (nestedDeeperThan(raw, MAX_NESTING_DEPTH)) {
    // Walking it (zod, the argument readers) would cost, and no task has more than a few levels.
    problems.push(`${label} nests lists and objects more than ${MAX_NESTING_DEPTH} deep.`);
    draft.invalid = true;
    return draft;
  }
  if (name === undefined || name.trim() === '') {
    problems.push(`${label} has no "task" name.`);
    draft.invalid = true;
  } else if (name.length > maxNameChars) {
    // No did-you-mean: its cost grows with the name, and a name this long names no task anyway.
    problems.push(
      `${label}: its task name is ${name.length} characters long ("${name.slice(0, 30)}..."); task names have at most ${maxNameChars}.`,
    );
    draft.invalid = true;
  } else {
    const task = vocabulary.resolve(name);
    if (!task) {
      problems.push(
        `${label}: "${name}" is not an available task${suggestion(name, vocabulary, available, '; the closest is', budget)}.`,
      );
      draft.invalid = true;
    } else if (available && !available.has(task)) {
      problems.push(
        `${label}: "${task}" cannot run here; use an available task instead${suggestion(task, vocabulary, available, ', such as', budget)}.`,
      );
      draft.invalid = true;
    } else {
      draft.task = task;
    }
  }
  readArguments(draft, value.args ?? value.arguments, problems);
  return draft;
}

function readArguments(draft: Draft, rawArgs: unknown, problems: string[]): void {
  if (rawArgs === undefined || rawArgs === null) return;
  const label = labelOf(draft);
  const list = typeof rawArgs === 'string' ? [rawArgs] : rawArgs;
  const values = Array.isArray(list) ? list : isRecord(list) ? Object.values(list) : [];
  if (values.length > MAX_ARGUMENTS_PER_TASK) {
    problems.push(`${label} has ${values.length} arguments; a task has at most ${MAX_ARGUMENTS_PER_TASK}.`);
    draft.invalid = true;
    return;
  }
  // Reading a text scans it several times (references, lists, kinds): a text longer than any reply is refused.
  const longest = values
    .flat()
    .reduce<number>((most, value) => (typeof value === 'string' ? Math.max(most, value.length) : most), 0);
  if (longest > MAX_ARGUMENT_CHARS) {
    problems.push(
      `${label} has an argument of ${longest} characters; an argument has at most ${MAX_ARGUMENT_CHARS}.`,
    );
    draft.invalid = true;
    return;
  }
  if (typeof rawArgs === 'string') {
    draft.rawArgs.push(...listArguments([rawArgs]));
    return;
  }
  if (Array.isArray(rawArgs)) {
    draft.rawArgs.push(...listArguments(rawArgs));
    return;
  }
  if (!isRecord(rawArgs)) {
    problems.push(`${label}: "args" must be an object like {"image": "a.jpg"}.`);
    draft.invalid = true;
    return;
  }
  for (const [rawKey, rawValue] of Object.entries(rawArgs)) {
    if (rawValue === null || rawValue === undefined || rawValue === '') continue;
    const key = rawKey
      .trim()
      .toLowerCase()
      .replace(/[\s-]+/g, '_');
    const kind: ResourceKind | 'infer' | undefined = isResourceKind(key)
      ? key
      : Object.hasOwn(KEY_ALIASES, key)
        ? KEY_ALIASES[key]
        : GENERIC_KEYS.has(key)
          ? 'infer'
          : undefined;
    if (kind === undefined) {
      problems.push(`${label}: argument "${rawKey}" is not one of ${RESOURCE_KINDS.join(', ')}.`);
      draft.invalid = true;
      continue;
    }
    const strings = Array.isArray(rawValue) ? rawValue : [rawValue];
    if (strings.length > MAX_ITEMS_PER_ARGUMENT) {
      problems.push(
        `${label}: argument "${rawKey}" lists ${strings.length} values; an argument lists at most ${MAX_ITEMS_PER_ARGUMENT}.`,
      );
      draft.invalid = true;
      continue;
    }
    if (strings.some((item) => typeof item === 'object' && item !== null)) {
      problems.push(`${label}: argument "${rawKey}" must be a string.`);
      draft.invalid = true;
      continue;
    }
    const values = strings
      .filter((item) => item !== null && item !== undefined && item !== '')
      .map((item) => normalizeReferenceText(String(item)))
      .flatMap((item) =>
        splitResourceList(item, kind === 'infer' ? (inferKindFromValue(item) ?? 'text') : kind),
      );
    // Each value becomes a task when the plan is unfolded: a long "a.jpg, b.jpg, ..." is refused here.
    if (values.length > MAX_ITEMS_PER_ARGUMENT) {
      problems.push(
        `${label}: argument "${rawKey}" lists ${values.length} values; an argument lists at most ${MAX_ITEMS_PER_ARGUMENT}.`,
      );
      draft.invalid = true;
      continue;
    }
    if (values.length > 0) draft.rawArgs.push({ key: rawKey, bare: false, kind, values });
  }
}

/** Arguments given as a bare list (TaskBench style): each value's kind comes from its form. */
function listArguments(list: unknown[]): Argument[] {
  return list
    .filter((item) => typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean')
    .map((item) => normalizeReferenceText(String(item)))
    .filter((item) => item !== '')
    .map((item) => ({ key: item, bare: true, kind: 'infer' as const, values: [item] }));
}

/** Gives every task an id and maps ids to the tasks that carry them (more than one when duplicated). */
function assignIds(drafts: Draft[]): Map<number, Draft[]> {
  const byId = new Map<number, Draft[]>();
  const taken = new Set(drafts.flatMap((draft) => (draft.givenId === undefined ? [] : [draft.givenId])));
  for (const draft of drafts) {
    let id = draft.givenId;
    // A task without an id is most likely referred to by its position, as HuggingGPT numbers from 0.
    if (id === undefined && !taken.has(draft.position)) {
      id = draft.position;
      taken.add(id);
    }
    if (id === undefined) continue;
    const list = byId.get(id) ?? [];
    list.push(draft);
    byId.set(id, list);
  }
  return byId;
}

function resolveArguments(
  draft: Draft,
  byId: Map<number, Draft[]>,
  problems: string[],
  vocabulary: TaskVocabulary<string>,
): void {
  const label = labelOf(draft);
  const keysByKind = new Map<ResourceKind, string>();
  for (const argument of draft.rawArgs) {
    const items: Item[] = [];
    let kind = argument.kind;
    for (const value of argument.values) {
      const references = referencesIn(value);
      if (/<GENERATED>/i.test(value.replace(/<GENERATED>-\d+/g, ''))) {
        const what =
          references.length === 0
            ? `"${value}" names no task`
            : `"${value}" has a "<GENERATED>" that names no task`;
        problems.push(
          `${label}: ${what}; write "<GENERATED>-k" with k the id of the task whose output it is.`,
        );
        draft.invalid = true;
        continue;
      }
      if (references.length === 0) {
        items.push({ literal: value });
        if (kind === 'infer') kind = inferKindFromValue(value) ?? 'text';
        continue;
      }
      const whole = references.length === 1 && value.trim() === generatedRef(references[0]!);
      if (!whole) {
        // Only a text can be filled in around a reference; a file argument is one file, whole.
        if (kind === 'infer') kind = 'text';
        if (kind !== 'text') {
          problems.push(
            `${label}: its ${kind} argument "${value}" must be a whole reference like "${generatedRef(references[0]!)}" or a file name or URL; only a text argument may have references inside other text.`,
          );
          draft.invalid = true;
          continue;
        }
      }
      const targets = new Map<number, Draft>();
      for (const id of new Set(references)) {
        const target = referenceTarget(draft, id, byId, label, problems);
        if (target) targets.set(id, target);
      }
      if (targets.size < new Set(references).size) {
        draft.invalid = true;
        continue;
      }
      if (whole) {
        const target = targets.get(references[0]!)!;
        items.push({ ref: target.uid });
        if (kind === 'infer')
          kind = target.task ? producedKindFor(vocabulary, target.task, draft.task) : 'text';
        continue;
      }
      const embedded: Piece[] = value
        .split(/(<GENERATED>-\d+)/)
        .filter((piece) => piece !== '')
        .map((piece) => {
          const id = /^<GENERATED>-(\d+)$/.exec(piece)?.[1];
          return id === undefined ? piece : { ref: targets.get(Number(id))!.uid };
        });
      items.push({ embedded, source: value });
    }
    if (items.length === 0) continue;
    const resolvedKind: ResourceKind = kind === 'infer' ? 'text' : kind;
    const existing = draft.args.get(resolvedKind);
    if (existing) {
      const bare = argument.bare && !keysByKind.has(resolvedKind);
      const first = existing[0];
      const second = items[0];
      if (bare && resolvedKind === 'text' && existing.length === 1 && items.length === 1) {
        if (first && second && 'literal' in first && 'literal' in second) {
          // Bare list arguments (TaskBench's two sentences to compare) become one text, one per line.
          existing[0] = { literal: `${first.literal}\n${second.literal}` };
          continue;
        }
      } else if (bare && resolvedKind !== 'text') {
        // Several files of one kind in a bare list: one task per file, as unfold does for lists.
        existing.push(...items);
        continue;
      }
      const names = argument.bare
        ? `${describeItem(existing[0])} and ${describeItem(items[0])}`
        : `"${keysByKind.get(resolvedKind) ?? resolvedKind}" and "${argument.key}"`;
      problems.push(`${label}: give one ${resolvedKind} argument, not two (${names}).`);
      draft.invalid = true;
      continue;
    }
    draft.args.set(resolvedKind, items);
    if (!argument.bare) keysByKind.set(resolvedKind, argument.key);
  }
}

/** The one task `<GENERATED>-id` names, or undefined after describing why there is none. */
function referenceTarget(
  draft: Draft,
  id: number,
  byId: Map<number, Draft[]>,
  label: string,
  problems: string[],
): Draft | undefined {
  const targets = byId.get(id) ?? [];
  if (targets.length === 0) {
    problems.push(`${label} uses ${generatedRef(id)}, but there is no task ${id}.`);
  } else if (targets.length > 1) {
    problems.push(
      `${label} uses ${generatedRef(id)}, but ${targets.length} tasks have id ${id}; give every task its own id.`,
    );
  } else if (targets[0] === draft) {
    problems.push(
      `${label} uses its own output (${generatedRef(id)}); it can only use outputs of other tasks.`,
    );
  } else {
    return targets[0];
  }
  return undefined;
}

function describeItem(item: Item | undefined): string {
  if (!item) return '""';
  if ('ref' in item) return 'a task output';
  const whole = 'literal' in item ? item.literal : item.source;
  const text = whole.length > 40 ? `${whole.slice(0, 37)}...` : whole;
  return JSON.stringify(text);
}

/** The kind under which a consumer takes a producer's output: its media kind if accepted, else its text. */
function producedKindFor(
  vocabulary: TaskVocabulary<string>,
  producer: string,
  consumer: string | undefined,
): ResourceKind {
  const outputs = vocabulary.get(producer)!.outputs;
  const output = outputs[0]!;
  if (!consumer) return output;
  const inputs = vocabulary.get(consumer)!.inputs;
  const media = outputs.find((kind) => kind !== 'text' && inputs.includes(kind));
  if (media) return media;
  if (inputs.includes(output)) return output;
  return inputs.includes('text') ? 'text' : output;
}

const embeddedRefs = new WeakMap<Item, number[]>();

/**
 * The distinct uids an item uses, whole or embedded in a text, in order of appearance. Cached per item (items
 * are never changed, only replaced): the checks ask for them many times, and a text may name a task
 * thousands of times.
 */
function itemRefs(item: Item): number[] {
  if ('ref' in item) return [item.ref];
  if ('literal' in item) return [];
  let uids = embeddedRefs.get(item);
  if (!uids) {
    uids = [...new Set(item.embedded.flatMap((piece) => (typeof piece === 'string' ? [] : [piece.ref])))];
    embeddedRefs.set(item, uids);
  }
  return uids;
}

function referencedUids(draft: Draft): number[] {
  const uids: number[] = [];
  for (const items of draft.args.values()) {
    for (const item of items) for (const uid of itemRefs(item)) if (!uids.includes(uid)) uids.push(uid);
  }
  return uids;
}

/**
 * Strongly connected groups of tasks that reference each other (Tarjan), in list order. Iterative, with an
 * explicit stack of (task, next reference to follow): a chain of references as long as the plan cannot
 * overflow the call stack, whatever `maxTasks` a caller allows.
 */
function findCycles(drafts: Draft[]): Draft[][] {
  const byUid = new Map(drafts.map((draft) => [draft.uid, draft]));
  const index = new Map<number, number>();
  const low = new Map<number, number>();
  const onStack = new Set<number>();
  const stack: number[] = [];
  const cycles: Draft[][] = [];
  let counter = 0;
  const enter = (uid: number) => {
    index.set(uid, counter);
    low.set(uid, counter);
    counter++;
    stack.push(uid);
    onStack.add(uid);
  };
  for (const root of drafts) {
    if (index.has(root.uid)) continue;
    enter(root.uid);
    const frames: { uid: number; next: number[]; at: number }[] = [
      { uid: root.uid, next: referencedUids(root), at: 0 },
    ];
    while (frames.length > 0) {
      const frame = frames.at(-1)!;
      if (frame.at < frame.next.length) {
        const next = frame.next[frame.at++]!;
        if (!index.has(next)) {
          enter(next);
          frames.push({ uid: next, next: referencedUids(byUid.get(next)!), at: 0 });
        } else if (onStack.has(next)) {
          low.set(frame.uid, Math.min(low.get(frame.uid)!, index.get(next)!));
        }
        continue;
      }
      // All references followed: close the group if this task is its root, then report to the caller's frame.
      frames.pop();
      const uid = frame.uid;
      if (low.get(uid) === index.get(uid)) {
        const group: Draft[] = [];
        let member: number;
        do {
          member = stack.pop()!;
          onStack.delete(member);
          group.push(byUid.get(member)!);
        } while (member !== uid);
        if (group.length > 1) cycles.push(group.sort((a, b) => a.position - b.position));
      }
      const parent = frames.at(-1);
      if (parent) low.set(parent.uid, Math.min(low.get(parent.uid)!, low.get(uid)!));
    }
  }
  return cycles.sort((a, b) => a[0]!.position - b[0]!.position);
}

/**
 * One concrete loop through a group of tasks that reference each other, in the direction outputs flow,
 * from its first task back to it (shortest, found breadth-first), so the LLM sees which reference to cut.
 */
function cyclePath(group: Draft[]): Draft[] {
  const start = group[0]!;
  const consumers = new Map<number, Draft[]>();
  for (const draft of group) {
    for (const uid of referencedUids(draft)) {
      const list = consumers.get(uid);
      if (list) list.push(draft);
      else consumers.set(uid, [draft]);
    }
  }
  const consumersOf = (producer: Draft) => consumers.get(producer.uid) ?? [];
  const parents = new Map<Draft, Draft>();
  const queue: Draft[] = [start];
  for (let head = 0; head < queue.length; head++) {
    const current = queue[head]!;
    for (const consumer of consumersOf(current)) {
      if (consumer === start) {
        const path = [current];
        while (path.at(-1) !== start) path.push(parents.get(path.at(-1)!)!);
        return [...path.reverse(), start];
      }
      if (!parents.has(consumer)) {
        parents.set(consumer, current);
        queue.push(consumer);
      }
    }
  }
  return [...group, start];
}

function article(kind: ResourceKind): string {
  return kind === 'image' || kind === 'audio' ? `an ${kind}` : `a ${kind}`;
}

function checkKinds(
  draft: Draft,
  byUid: Map<number, Draft>,
  problems: string[],
  vocabulary: TaskVocabulary<string>,
): void {
  if (!draft.task) return;
  const label = labelOf(draft);
  const signature = vocabulary.get(draft.task)!;
  for (const [kind, items] of draft.args) {
    if (!signature.inputs.includes(kind)) {
      problems.push(
        `${label} cannot take ${article(kind)} argument; it takes ${signature.inputs.length === 0 ? 'none' : [...new Set(signature.inputs)].join(' and ')}.`,
      );
      draft.invalid = true;
      continue;
    }
    if (kind === 'text') continue; // Every task's result can be read as text.
    for (const item of items) {
      if (!('ref' in item)) continue;
      const producer = byUid.get(item.ref);
      if (!producer?.task) continue;
      const outputs = vocabulary.get(producer.task)!.outputs;
      if (!outputs.includes(kind)) {
        problems.push(
          `${label}: its ${kind} argument ${generatedRef(producer.givenId ?? producer.position)} refers to task ${idOf(producer)} (${producer.task}), which produces ${outputs.join(' and ')}, not ${article(kind)}.`,
        );
        draft.invalid = true;
      }
    }
  }
  for (const kind of signature.required) {
    if (!draft.args.has(kind)) {
      problems.push(`${label} needs ${article(kind)} argument ("${kind}").`);
      draft.invalid = true;
    }
  }
}

/** Tasks that need the output of an invalid task cannot run either; their cause is already reported. */
function excludeDependantsOfInvalid(drafts: Draft[], byUid: Map<number, Draft>): void {
  let changed = true;
  while (changed) {
    changed = false;
    for (const draft of drafts) {
      if (draft.invalid) continue;
      if (referencedUids(draft).some((uid) => byUid.get(uid)?.invalid !== false)) {
        draft.invalid = true;
        changed = true;
      }
    }
  }
}

/**
 * HuggingGPT's `unfold`: a task whose argument lists several inputs ("<GENERATED>-0,<GENERATED>-1",
 * ["a.jpg", "b.jpg"]) becomes one task per input; tasks that used its output now use every copy's output
 * and are unfolded in turn. Copies multiply along chains (a text naming two unfolded tasks becomes one
 * text per pair), so the count is checked at every step: past `maxTasks` it stops and returns how many
 * tasks it had reached, long before the copies could fill memory.
 */
function unfold(drafts: Draft[], firstFreeUid: number, maxTasks: number): Draft[] | number {
  let nextUid = firstFreeUid;
  let list = drafts.map((draft) => ({ ...draft, args: new Map(draft.args) }));
  for (let guard = 0; guard < 1000; guard++) {
    const at = list.findIndex((draft) => [...draft.args.values()].some((items) => items.length > 1));
    if (at === -1) break;
    const draft = list[at]!;
    const [kind, items] = [...draft.args].find(([, values]) => values.length > 1)!;
    const copies = items.map((item) => {
      const args = new Map(draft.args);
      args.set(kind, [item]);
      return { ...draft, uid: nextUid++, args };
    });
    list = [...list.slice(0, at), ...copies, ...list.slice(at + 1)];
    if (list.length > maxTasks) return list.length;
    for (const other of list) {
      for (const [otherKind, otherItems] of other.args) {
        if (!otherItems.some((item) => itemRefs(item).includes(draft.uid))) continue;
        // Each item of an argument becomes a task of its own when that task unfolds in turn.
        const grown = otherItems.reduce(
          (sum, item) => sum + (itemRefs(item).includes(draft.uid) ? copies.length : 1),
          0,
        );
        if (list.length - 1 + grown > maxTasks) return list.length - 1 + grown;
        other.args.set(
          otherKind,
          otherItems.flatMap((item): Item[] => {
            if (!itemRefs(item).includes(draft.uid)) return [item];
            if ('ref' in item) return copies.map((copy) => ({ ref: copy.uid }));
            if ('literal' in item) return [item];
            // A text that names the unfolded task becomes one text per copy, so its task unfolds in turn.
            return copies.map((copy) => ({
              ...item,
              embedded: item.embedded.map((piece) =>
                typeof piece !== 'string' && piece.ref === draft.uid ? { ref: copy.uid } : piece,
              ),
            }));
          }),
        );
      }
    }
  }
  return list;
}

/** Dependency order, list order among independent tasks; ids 0..n-1; `dep` from the references. */
function toGraph(drafts: Draft[]): TaskGraph<string> {
  const remaining = [...drafts];
  const newIds = new Map<number, number>();
  const graph: TaskGraph<string> = [];
  while (remaining.length > 0) {
    const at = remaining.findIndex((draft) => referencedUids(draft).every((uid) => newIds.has(uid)));
    // Cycles were removed before, so some task is always ready; the guard keeps a bug from looping.
    if (at === -1) break;
    const draft = remaining.splice(at, 1)[0]!;
    const id = graph.length;
    newIds.set(draft.uid, id);
    const args: TaskArgs = {};
    const dep: number[] = [];
    for (const [kind, items] of draft.args) {
      const item = items[0]!;
      if ('literal' in item) {
        args[kind] = item.literal;
      } else if ('ref' in item) {
        args[kind] = generatedRef(newIds.get(item.ref)!);
      } else {
        args[kind] = item.embedded
          .map((piece) => (typeof piece === 'string' ? piece : generatedRef(newIds.get(piece.ref)!)))
          .join('');
      }
      for (const uid of itemRefs(item)) {
        const target = newIds.get(uid)!;
        if (!dep.includes(target)) dep.push(target);
      }
    }
    const task: PlannedTask<string> = {
      id,
      task: draft.task!,
      dep: dep.length > 0 ? dep.sort((a, b) => a - b) : [-1],
      args: orderArgs(args),
    };
    graph.push(task);
  }
  return graph;
}

function orderArgs(args: TaskArgs): TaskArgs {
  const ordered: TaskArgs = {};
  for (const kind of RESOURCE_KINDS) if (args[kind] !== undefined) ordered[kind] = args[kind];
  return ordered;
}

/** The vocabulary entry nearest to what the LLM wrote, for "did you mean" in problems. */
export function closestTask<Name extends string = TaskName>(
  name: string,
  available?: ReadonlySet<Name>,
  vocabulary: TaskVocabulary<Name> = HUGGING_FACE_TASKS as unknown as TaskVocabulary<Name>,
): Name | undefined {
  // The search below is cubic in the number of words: only names as short as task names get a suggestion,
  // and only vocabulary entries are candidates.
  if (name.length > MAX_TASK_NAME_CHARS) return undefined;
  const allowed = available ? [...available].filter((task) => vocabulary.get(task) !== undefined) : [];
  const candidates: readonly Name[] = allowed.length > 0 ? allowed : vocabulary.names;
  const cleaned = name
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-');
  // A known name inside a decorated one ("image-captioning-pro", "run-object-detection") is the best hint.
  const words = cleaned.split('-').filter((word) => word.length > 0);
  // No task name has more than five words: longer runs of words cannot name one, and skipping them keeps
  // this linear in the number of words.
  for (let length = Math.min(words.length - 1, 6); length > 0; length--) {
    for (let start = 0; start + length <= words.length; start++) {
      const inner = vocabulary.resolve(words.slice(start, start + length).join('-'));
      if (inner && candidates.includes(inner)) return inner;
    }
  }
  let best: Name | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  const threshold = Math.max(2, cleaned.length * 0.3);
  for (const candidate of candidates) {
    // Shared words count for more than shared letters: "speech-synthesis" is nearer text-to-speech
    // than names a few letters away. A name sharing no word and few letters gets no suggestion.
    const spelled = candidate.toLowerCase().replace(/[\s_]+/g, '-');
    const shared = words.filter((word) => word.length > 2).filter((word) => spelled.includes(word)).length;
    // The distance is at least the difference in length: skip the quadratic comparison when that alone
    // rules the candidate out.
    const atLeast = Math.abs(cleaned.length - spelled.length);
    if ((shared === 0 && atLeast > threshold) || atLeast - shared * 4 >= bestScore) continue;
    const distance = editDistance(cleaned, spelled);
    if (shared === 0 && distance > threshold) continue;
    const score = distance - shared * 4;
    if (score < bestScore) {
      bestScore = score;
      best = candidate;
    }
  }
  return best;
}

/**
 * " The closest is "x"." or nothing, for problem messages; nothing once the plan's MAX_SUGGESTIONS are
 * spent, so that a plan of many unknown names costs a bounded number of searches.
 */
function suggestion(
  name: string,
  vocabulary: TaskVocabulary<string>,
  available: ReadonlySet<string> | undefined,
  phrase: string,
  budget: { suggestions: number },
): string {
  if (budget.suggestions <= 0) return '';
  budget.suggestions--;
  const closest = closestTask(name, available, vocabulary);
  return closest ? `${phrase} "${closest}"` : '';
}

/** Levenshtein distance on two reused rows: it runs for every vocabulary entry of every suggestion. */
function editDistance(a: string, b: string): number {
  let previous = new Uint32Array(b.length + 1);
  let current = new Uint32Array(b.length + 1);
  for (let j = 0; j <= b.length; j++) previous[j] = j;
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + cost);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}
