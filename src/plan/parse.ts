import { PlanError } from '../core/errors.js';
import {
  fencedBlocks,
  JsonReadLimitError,
  nestedDeeperThan,
  nextOpening,
  SegmentReader,
  withoutThinking,
} from '../core/lenient-json.js';
import { MAX_NESTING_DEPTH } from '../core/plan-limits.js';
import { isRecord } from '../core/records.js';
import { normalizeReferenceText } from './references.js';

export interface ParsedPlanText {
  /** The task objects as the LLM wrote them (references normalised); `validatePlan` checks them. */
  tasks: unknown[];
}

/** Keys under which LLMs wrap the task list in an object (`{"tasks": [...]}` is the structured-output form). */
const LIST_KEYS = ['tasks', 'task_list', 'tasklist', 'plan', 'task_plan', 'steps', 'task_nodes', 'nodes'];

const ANSWER_HINT =
  'Answer with only a JSON list like [{"task": ..., "id": 0, "dep": [-1], "args": {...}}], or [] when no task is needed.';

/**
 * Extracts the task list from an LLM reply, however it was wrapped: ```json fences, prose around the JSON,
 * one object instead of a list, several objects one after another, `{"tasks": [...]}`, trailing commas,
 * single quotes, Python constants, truncated output. Throws a PlanError when the reply holds no task list,
 * or is too long, too deep or too full of brackets to read (see plan-limits); an empty list (`[]`, "just
 * chat") is a valid answer and returns no tasks.
 */
export function parsePlanText(reply: string): ParsedPlanText {
  let text = reply;
  try {
    const reader = new SegmentReader(reply);
    text = withoutThinking(reply);
    for (const body of fencedBlocks(text)) {
      const found = tasksInText(body, reader);
      if (found) return { tasks: found };
    }
    const found = tasksInText(text, reader);
    if (found) return { tasks: found };
  } catch (error) {
    if (error instanceof JsonReadLimitError) {
      throw new PlanError(`The reply could not be read: ${error.message}`, [
        `${error.message} ${ANSWER_HINT}`,
      ]);
    }
    throw error;
  }
  const excerpt = text.trim().slice(0, 120);
  throw new PlanError(
    'The reply contains no task list',
    [
      text.trim() === ''
        ? 'The reply was empty. Answer with a JSON list of tasks, or [] when no task is needed.'
        : `The reply has no JSON list of tasks. ${ANSWER_HINT}`,
    ],
    excerpt,
  );
}

/** What one JSON value found in the text contributes. */
type Found = { kind: 'list'; tasks: unknown[] } | { kind: 'single'; task: unknown } | { kind: 'empty' };

function tasksInText(text: string, reader: SegmentReader): unknown[] | undefined {
  const singles: unknown[] = [];
  let sawEmpty = false;
  let start = nextOpening(text, 0);
  while (start !== -1 && reader.more) {
    const { end, value } = reader.read(text, start);
    // jsonrepair can read brackets the scan took for text: a value deeper than a plan is refused, not walked.
    if (nestedDeeperThan(value, MAX_NESTING_DEPTH)) {
      throw new JsonReadLimitError(`The reply nests lists and objects more than ${MAX_NESTING_DEPTH} deep.`);
    }
    const found = interpret(value);
    if (!found) {
      // The bracket may belong to prose ("[sic]", "{see below}"): look for JSON inside or after it.
      start = nextOpening(text, start + 1);
      continue;
    }
    if (found.kind === 'list') {
      if (singles.length === 0) return found.tasks;
      singles.push(...found.tasks);
    } else if (found.kind === 'single') {
      singles.push(found.task);
    } else {
      sawEmpty = true;
    }
    start = nextOpening(text, end);
  }
  if (singles.length > 0) return singles;
  return sawEmpty ? [] : undefined;
}

function looksLikeTask(value: unknown): value is Record<string, unknown> {
  return isRecord(value) && (typeof value.task === 'string' || typeof value.tool === 'string');
}

function interpret(value: unknown): Found | undefined {
  if (Array.isArray(value)) {
    if (value.length === 0) return { kind: 'empty' };
    // A list of lists (one list per step) is flattened; a list of strings is prose, not a plan.
    const flat = value.flat();
    if (!flat.some(looksLikeTask)) return undefined;
    return { kind: 'list', tasks: flat.map(normalizeStrings) };
  }
  if (!isRecord(value)) return undefined;
  if (looksLikeTask(value)) return { kind: 'single', task: normalizeStrings(value) };
  for (const key of LIST_KEYS) {
    const list = value[key];
    if (Array.isArray(list)) {
      const found = interpret(list);
      if (found) return found;
    }
  }
  // {"step_1": {...task...}, "step_2": {...}}: the values in order are the list.
  const values = Object.values(value);
  if (values.length > 0 && values.every(looksLikeTask)) {
    return { kind: 'list', tasks: values.map(normalizeStrings) };
  }
  return undefined;
}

/** Normalises every reference in every string of a parsed value. */
function normalizeStrings(value: unknown): unknown {
  if (typeof value === 'string') return normalizeReferenceText(value);
  if (Array.isArray(value)) return value.map(normalizeStrings);
  if (isRecord(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, normalizeStrings(inner)]));
  }
  return value;
}
