import { PlanError } from '../core/errors.js';
import { generatedRef, type TaskGraph } from '../core/graph.js';
import { nestedDeeperThan } from '../core/lenient-json.js';
import { MAX_NESTING_DEPTH, MAX_TASKS } from '../core/plan-limits.js';
import { isRecord } from '../core/records.js';
import { normalizeTaskName, type TaskName } from '../core/tasks.js';
import { parsePlanText } from './parse.js';
import { type ValidateOptions, validatePlan } from './validate.js';

/**
 * TaskBench tools (multimedia and Hugging Face domains) that are one of our tasks under another name.
 * Only tools with a clear counterpart are listed; downloaders, searches and video editing have none.
 * Looked up with Object.hasOwn: a tool called "constructor" must not find Object's.
 */
const TASKBENCH_TOOLS: Record<string, TaskName> = {
  'image editing': 'image-to-image',
  'text summarizer': 'summarization',
  'text translator': 'translation',
  'text sentiment analysis': 'text-classification',
  'audio-to-text': 'automatic-speech-recognition',
  'voice recognition': 'automatic-speech-recognition',
  'entity recognition': 'token-classification',
  'audio noise reduction': 'audio-to-audio',
  'audio quality enhancer': 'audio-to-audio',
  'text paraphraser': 'text2text-generation',
  'text simplifier': 'text2text-generation',
  'text expander': 'text2text-generation',
  'text grammar checker': 'text2text-generation',
  'article spinner': 'text2text-generation',
};

const FORMATS_HINT =
  'Expected HuggingGPT\'s format, a list like [{"task": "object-detection", "id": 0, "dep": [-1], "args": {"image": "a.jpg"}}] ' +
  '(or {"tasks": [...]}), or TaskBench\'s, {"task_nodes": [{"task": "Object Detection", "arguments": ["a.jpg"]}]}.';

/**
 * A plan given by the user instead of planned by the LLM: HuggingGPT's task list (`<GENERATED>-k`
 * references) or a TaskBench sample (`task_nodes` whose `<node-k>` arguments are node k's output).
 * A string is parsed as an LLM reply would be. Throws PlanError naming every problem.
 */
export function planFromFile(json: unknown, options: ValidateOptions = {}): TaskGraph {
  // The conversions below walk the value (JSON.stringify recurses): bound its depth first.
  if (nestedDeeperThan(json, MAX_NESTING_DEPTH)) {
    const problem = `The plan nests lists and objects more than ${MAX_NESTING_DEPTH} deep.`;
    throw new PlanError(problem, [problem]);
  }
  if (typeof json === 'string') return validated(parsePlanText(json).tasks, options, 'The plan');
  if (isRecord(json) && 'task_nodes' in json) {
    return validated(taskBenchToTasks(json, options), options, 'The TaskBench plan');
  }
  const list = Array.isArray(json)
    ? json
    : isRecord(json) && Array.isArray(json.tasks)
      ? json.tasks
      : undefined;
  if (list === undefined || !list.every((item) => isRecord(item) && typeof item.task === 'string')) {
    throw new PlanError(`The plan file is in no known format. ${FORMATS_HINT}`, [FORMATS_HINT]);
  }
  return validated(list, options, 'The plan');
}

function validated(tasks: unknown[], options: ValidateOptions, what: string): TaskGraph {
  const { plan, problems } = validatePlan(tasks, options);
  if (problems.length > 0) {
    throw new PlanError(
      `${what} has ${problems.length === 1 ? 'a problem' : 'problems'}: ${problems.join(' ')}`,
      problems,
    );
  }
  return plan;
}

/** TaskBench nodes as HuggingGPT-shaped raw tasks with bare-list arguments; validatePlan infers the kinds. */
function taskBenchToTasks(json: Record<string, unknown>, options: ValidateOptions): unknown[] {
  const rawNodes = json.task_nodes;
  // One upstream row has {"step_1": {...}} instead of a list; its values in order are the nodes.
  const nodes = Array.isArray(rawNodes) ? rawNodes : isRecord(rawNodes) ? Object.values(rawNodes) : undefined;
  if (!nodes?.every((node) => isRecord(node) && typeof node.task === 'string')) {
    throw new PlanError(`"task_nodes" must be a list of {"task", "arguments"} objects. ${FORMATS_HINT}`, [
      FORMATS_HINT,
    ]);
  }
  // Matching references to nodes is quadratic in their number: more nodes than a plan may have tasks is refused.
  const maxTasks = options.maxTasks ?? MAX_TASKS;
  if (nodes.length > maxTasks) {
    const problem = `The TaskBench plan has ${nodes.length} nodes; use at most ${maxTasks}.`;
    throw new PlanError(problem, [problem]);
  }
  const records = nodes as Record<string, unknown>[];
  const toolNames = records.map((node) => String(node.task));
  const context: ConversionContext = {
    toolNames,
    outputNames: namedOutputs(records),
    offset: referenceOffset(records, toolNames, json.task_links),
    problems: [],
  };
  const tasks = records.map((node, index) => {
    const tool = String(node.task);
    const toolKey = tool.trim().toLowerCase();
    const task =
      normalizeTaskName(tool) ?? (Object.hasOwn(TASKBENCH_TOOLS, toolKey) ? TASKBENCH_TOOLS[toolKey] : tool);
    const raw = node.arguments ?? node.args;
    const args = isRecord(raw)
      ? Object.fromEntries(
          Object.entries(raw).map(([key, value]) => [key, convertArgument(value, index, context)]),
        )
      : (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map((value) =>
          convertArgument(value, index, context),
        );
    return { id: index, task, args };
  });
  const { problems } = context;
  if (problems.length > 0) {
    throw new PlanError(`The TaskBench plan has problems: ${problems.join(' ')}`, problems);
  }
  return tasks;
}

/** The node running `tool`, when exactly one does ("<output_of_Image_Segmentation>", {"from": "Translation"}). */
function nodeRunning(tool: string, toolNames: string[]): number | undefined {
  const wanted = tool
    .replace(/[\s_]+/g, ' ')
    .trim()
    .toLowerCase();
  const matches = toolNames.flatMap((name, index) => (name.trim().toLowerCase() === wanted ? [index] : []));
  return matches.length === 1 ? matches[0] : undefined;
}

interface ConversionContext {
  toolNames: string[];
  /** Names some rows give node outputs ({"output": ["summarized_text"]}), used as arguments downstream. */
  outputNames: Map<string, number>;
  /** 1 for rows that number nodes from 1. */
  offset: number;
  problems: string[];
}

function namedOutputs(records: Record<string, unknown>[]): Map<string, number> {
  const names = new Map<string, number>();
  records.forEach((node, index) => {
    const outputs = Array.isArray(node.output) ? node.output : [node.output];
    for (const name of outputs)
      if (typeof name === 'string' && name.trim() !== '') names.set(name.trim(), index);
  });
  return names;
}

function convertArgument(value: unknown, node: number, context: ConversionContext): unknown {
  const { toolNames, outputNames, offset, problems } = context;
  if (isRecord(value) && typeof value.from === 'string') {
    const source = nodeRunning(value.from, toolNames);
    if (source !== undefined) return generatedRef(source);
    problems.push(`Node ${node}: argument ${JSON.stringify(value)} names no single node's output.`);
    return value;
  }
  if (typeof value !== 'string') return value;
  const trimmed = value.trim();
  const named = outputNames.get(trimmed.replace(/^<(.+)>$/, '$1'));
  if (named !== undefined && named !== node) return generatedRef(named);
  const output = /^<output_of_(.+)>$/i.exec(trimmed)?.[1];
  if (output !== undefined) {
    const source = nodeRunning(output, toolNames);
    if (source !== undefined) return generatedRef(source);
  }
  if (/^<[^<>]+>$/.test(trimmed) && !/^<node-\d+>$/.test(trimmed)) {
    problems.push(
      `Node ${node}: argument "${trimmed}" is a placeholder, neither a value nor a <node-k> reference.`,
    );
    return value;
  }
  return value.replace(/<node-(\d+)>/g, (_match, id: string) => generatedRef(Number(id) - offset));
}

/** Every `<node-k>` reference in a node's arguments, as (consumer, k) pairs. */
function nodeReferences(records: Record<string, unknown>[]): [number, number][] {
  const pairs: [number, number][] = [];
  records.forEach((node, index) => {
    for (const match of JSON.stringify(node.arguments ?? '').matchAll(/<node-(\d+)>/g)) {
      pairs.push([index, Number(match[1])]);
    }
  });
  return pairs;
}

/**
 * Most TaskBench rows number nodes from 0, but some from 1 (a node "using" `<node-k>` equal to its own
 * index gives it away). The numbering that yields references to other, existing nodes and agrees with
 * `task_links` (pairs of tool names) wins; 0 on a tie, as in the TaskBench paper.
 */
function referenceOffset(records: Record<string, unknown>[], toolNames: string[], rawLinks: unknown): number {
  const references = nodeReferences(records);
  if (references.length === 0) return 0;
  const links = new Set(
    (Array.isArray(rawLinks) ? rawLinks : []).flatMap((link) =>
      isRecord(link) && typeof link.source === 'string' && typeof link.target === 'string'
        ? [`${link.source.trim().toLowerCase()}|${link.target.trim().toLowerCase()}`]
        : [],
    ),
  );
  const score = (offset: number): number => {
    let total = 0;
    for (const [consumer, reference] of references) {
      const producer = reference - offset;
      if (producer < 0 || producer >= records.length || producer === consumer) {
        total -= 2;
        continue;
      }
      const link = `${toolNames[producer]!.trim().toLowerCase()}|${toolNames[consumer]!.trim().toLowerCase()}`;
      if (links.has(link)) total += 1;
    }
    return total;
  };
  return score(1) > score(0) ? 1 : 0;
}
