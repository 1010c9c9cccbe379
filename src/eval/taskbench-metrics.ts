/**
 * TaskBench's plan metrics, computed as its own `evaluate.py` (microsoft/JARVIS, `taskbench/evaluate.py`)
 * computes them with `-m f1 -m ed -m link -m argument`: node F1 without matching (micro and macro over every
 * tool of the tool list), argument task-argname and task-argname-value binary F1, link binary F1 and
 * normalised edit distance, per group of samples (overall, per `type`, per number of tools). The script's
 * quirks are kept on purpose, since scores are only comparable when computed the same way; each is named
 * where it is reproduced. Pure: no I/O.
 */
import { isRecord } from '../core/records.js';

/** One tool of TaskBench's `tool_desc.json`. */
export interface TaskBenchTool {
  id: string;
  desc?: string;
  'input-type': string[];
  'output-type': string[];
}

/** The metrics of one group, under the script's own key names. */
export interface TaskBenchGroupMetrics {
  all_samples: number;
  step_supports: number;
  node_supports: number;
  link_supports: number;
  argument_supports: number;
  node_micro_precision_no_matching?: number;
  node_micro_recall_no_matching?: number;
  node_micro_f1_no_matching?: number;
  node_macro_precision_no_matching?: number;
  node_macro_recall_no_matching?: number;
  node_macro_f1_no_matching?: number;
  /** The script's spelling ("matchcing"). */
  node_per_type_no_matchcing?: Record<
    string,
    { precision: number; recall: number; 'f1-score': number; support: number }
  >;
  argument_task_argname_binary_f1_no_matching?: number;
  argument_task_argname_value_binary_f1_no_matching?: number;
  edit_distance?: number;
  link_binary_f1?: number;
}

/** Groups keyed as the script's metrics file: `overall_overall`, `single_overall`, ..., `overall_3`. */
export type TaskBenchScores = Record<string, TaskBenchGroupMetrics>;

export interface ScoreOptions {
  /** Gold rows (`id`, `type`, `task_nodes`, ...), in file order. */
  gold: readonly unknown[];
  /** Prediction rows (`id`, `result: {task_nodes, ...}`), in file order; a later row for an id wins. */
  predictions: readonly unknown[];
  tools: readonly TaskBenchTool[];
  /** Default: the script's `-s all` (overall, single, chain, dag). */
  splits?: readonly string[];
  /** Default: the script's `-n all` (overall, 1..10). */
  nTools?: readonly string[];
}

export const ALL_SPLITS = ['overall', 'single', 'chain', 'dag'] as const;
export const ALL_N_TOOLS = ['overall', ...Array.from({ length: 10 }, (_, index) => String(index + 1))];

/** The groups in the script's "add" mode: every split over all sizes, then every size over all splits. */
export function taskBenchGroups(
  splits: readonly string[] = ALL_SPLITS,
  nTools: readonly string[] = ALL_N_TOOLS,
): [string, string][] {
  const groups: [string, string][] = [];
  const add = (split: string, size: string) => {
    if (!groups.some(([s, n]) => s === split && n === size)) groups.push([split, size]);
  };
  for (const split of splits) add(split, 'overall');
  for (const size of nTools) add('overall', size);
  return groups;
}

/** A value's identity as a Python dict key would see it (strings and numbers never collide). */
function keyOf(value: unknown): string {
  return typeof value === 'string' ? `s:${value}` : `j:${JSON.stringify(value)}`;
}

/** What Python's `for x in value` yields; anything else is not iterable (TypeError). */
function pythonIterate(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isRecord(value)) return Object.keys(value);
  throw new TypeError('not iterable');
}

/** Python's `len(value)`. */
function pythonLength(value: unknown): number {
  if (Array.isArray(value)) return value.length;
  if (typeof value === 'string') return [...value].length;
  if (isRecord(value)) return Object.keys(value).length;
  throw new TypeError('no len()');
}

/** Python's `value[key]` on a parsed JSON value. */
function pythonItem(value: unknown, key: string): unknown {
  if (!isRecord(value) || !Object.hasOwn(value, key)) throw new TypeError(`no key ${key}`);
  return value[key];
}

/** Python's `int(text)` for ASCII digits: spaces around, a sign, single underscores between digits. */
function pythonInt(text: string): number {
  const match = /^\s*([+-]?)(\d+(?:_\d+)*)\s*$/.exec(text);
  if (!match) throw new TypeError(`invalid literal for int(): '${text}'`);
  return Number(`${match[1]}${match[2]!.replace(/_/g, '')}`);
}

/** Python's `list[index]`, negative indices counting from the end. */
function pythonIndex<T>(list: readonly T[], index: number): T {
  const at = index < 0 ? list.length + index : index;
  if (at < 0 || at >= list.length) throw new RangeError('list index out of range');
  return list[at]!;
}

const IMAGE_EXTENSIONS = ['jpg', 'png', 'jpeg', 'gif', 'bmp', 'tiff', 'svg', 'ico'];
const AUDIO_EXTENSIONS = ['mp3', 'wav', 'wma', 'ogg', 'aac', 'flac', 'aiff', 'au'];
const VIDEO_EXTENSIONS = ['mp4', 'avi', 'mov', 'flv', 'wmv', 'mkv', 'webm', 'm4v', 'mpg', 'mpeg'];

/** The script's `get_content_type`: an extension anywhere in the text decides ("beautiful.autumn" is audio). */
export function contentType(content: string): string {
  const text = content.replace(/^'+|'+$/g, '');
  if (IMAGE_EXTENSIONS.some((extension) => text.includes(`.${extension}`))) return 'image';
  if (AUDIO_EXTENSIONS.some((extension) => text.includes(`.${extension}`))) return 'audio';
  if (VIDEO_EXTENSIONS.some((extension) => text.includes(`.${extension}`))) return 'video';
  return 'text';
}

interface NamedArgument {
  name: string;
  value: string;
}

interface Link {
  source: string;
  target: string;
}

/** The argument state the script keeps across arguments, nodes and samples (see `readArguments`). */
interface Carry {
  last: NamedArgument | undefined;
}

/**
 * One node's arguments as the script rewrites them: `<node-k>` becomes a link from node k and an argument
 * named after node k's output type, anything else an argument named after its content type. The script's
 * quirks: only the first `<node-` and the first `>` of a text count; a reference to the node itself is
 * dropped; a negative k counts from the end; and an argument that raises (an empty object, a number, a
 * reference past the end) is replaced by the last argument the script read, even from another node or
 * sample (`new_argument` outlives its loop), or makes the sample unreadable when there was none.
 */
function readArguments(
  rawArguments: unknown,
  index: number,
  names: readonly string[],
  target: unknown,
  outputType: ReadonlyMap<string, string>,
  prediction: boolean,
  links: Link[],
  carry: Carry,
): NamedArgument[] {
  const result: NamedArgument[] = [];
  for (const raw of pythonIterate(rawArguments)) {
    let argument: unknown = raw;
    try {
      if (isRecord(argument)) {
        const values = Object.values(argument);
        if (values.length === 0) throw new RangeError('list index out of range');
        argument = values[0];
      }
      if (Array.isArray(argument)) {
        if (!argument.every((item) => typeof item === 'string')) throw new TypeError('join of non-strings');
        argument = argument.join(' ');
      }
      let isReference: boolean;
      if (typeof argument === 'string') isReference = argument.includes('<node-');
      else if (prediction || isRecord(argument)) isReference = false;
      else throw new TypeError('argument is not iterable');
      if (isReference) {
        const text = argument as string;
        const start = text.indexOf('<node-') + 6;
        const end = text.indexOf('>');
        const source = pythonInt(end < start ? '' : text.slice(start, end));
        if (source === index) continue;
        const sourceName = pythonIndex(names, source);
        links.push({ source: sourceName, target: target as string });
        carry.last = { name: outputType.get(sourceName) ?? 'other', value: sourceName };
      } else {
        if (typeof argument !== 'string') throw new TypeError('argument has no strip()');
        carry.last = { name: contentType(argument), value: argument };
      }
    } catch {
      // The script's `except: pass`: what it appends next is whatever `new_argument` last held.
    }
    if (!carry.last) throw new ReferenceError('new_argument referenced before assignment');
    result.push(carry.last);
  }
  return result;
}

interface Sample {
  labelNames: string[];
  predictionNames: string[];
  labelArgNames: string[];
  predictionArgNames: string[];
  labelArgValues: string[];
  predictionArgValues: string[];
  labelLinks: Link[];
  predictionLinks: Link[];
}

function readSample(
  label: unknown,
  prediction: unknown,
  outputType: ReadonlyMap<string, string>,
  carry: Carry,
): Sample {
  const labelNodes = pythonIterate(pythonItem(label, 'task_nodes'));
  const predictionNodes = pythonIterate(pythonItem(pythonItem(prediction, 'result'), 'task_nodes'));
  const taskOf = (node: unknown): unknown => pythonItem(node, 'task');
  const replaced = (name: unknown): string => {
    if (typeof name !== 'string') throw new TypeError('name has no replace()');
    return name.replace(/_/g, ' ');
  };
  const labelRaw = labelNodes.map(taskOf);
  const predictionRaw = predictionNodes.map(taskOf);
  const predictionNames = predictionRaw.map(replaced);
  const labelNames = labelRaw.map(replaced);
  const labelLinks: Link[] = [];
  const predictionLinks: Link[] = [];
  const labelArguments = labelNodes.map((node, index) =>
    readArguments(
      pythonItem(node, 'arguments'),
      index,
      labelNames,
      labelRaw[index],
      outputType,
      false,
      labelLinks,
      carry,
    ),
  );
  const predictionArguments = predictionNodes.map((node, index) =>
    readArguments(
      isRecord(node) && Object.hasOwn(node, 'arguments') ? node.arguments : [],
      index,
      predictionNames,
      predictionRaw[index],
      outputType,
      true,
      predictionLinks,
      carry,
    ),
  );
  const argNames = (names: string[], args: NamedArgument[][]) =>
    names.flatMap((task, index) => (args[index] ?? []).map((argument) => `${task}-${argument.name}`));
  const argValues = (names: string[], args: NamedArgument[][]) =>
    names.flatMap((task, index) =>
      (args[index] ?? []).map((argument) => `${task}-${argument.name}-${argument.value}`),
    );
  return {
    labelNames,
    predictionNames,
    labelArgNames: argNames(labelNames, labelArguments),
    predictionArgNames: argNames(predictionNames, predictionArguments),
    labelArgValues: argValues(labelNames, labelArguments),
    predictionArgValues: argValues(predictionNames, predictionArguments),
    labelLinks,
    predictionLinks,
  };
}

interface Counts {
  tp: number;
  fp: number;
  fn: number;
}

/** Per sample, every distinct item is one case: in the gold only, in the prediction only, or in both. */
function setCounts<T>(gold: readonly T[][], predicted: readonly T[][], key: (item: T) => string): Counts {
  const counts: Counts = { tp: 0, fp: 0, fn: 0 };
  gold.forEach((sampleGold, index) => {
    const inGold = new Set(sampleGold.map(key));
    const inPrediction = new Set((predicted[index] ?? []).map(key));
    for (const item of new Set([...inGold, ...inPrediction])) {
      if (inGold.has(item) && inPrediction.has(item)) counts.tp++;
      else if (inGold.has(item)) counts.fn++;
      else counts.fp++;
    }
  });
  return counts;
}

const divide = (numerator: number, denominator: number): number =>
  denominator === 0 ? 0 : numerator / denominator;

/** sklearn's precision, recall and F1 from counts; 0 where undefined, as its zero_division="warn". */
function prf({ tp, fp, fn }: Counts): [number, number, number] {
  const precision = divide(tp, tp + fp);
  const recall = divide(tp, tp + fn);
  return [precision, recall, divide(2 * precision * recall, precision + recall)];
}

/** Longest common subsequence of two sequences of tool numbers. */
function lcsLength(a: readonly number[], b: readonly number[]): number {
  let previous = new Array<number>(b.length + 1).fill(0);
  for (const x of a) {
    const current = [0];
    for (let j = 1; j <= b.length; j++) {
      current[j] = x === b[j - 1] ? previous[j - 1]! + 1 : Math.max(previous[j]!, current[j - 1]!);
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** `Levenshtein.ratio` on sequences: 1 - InDel distance / total length; two empty sequences are equal. */
export function levenshteinRatio(a: readonly number[], b: readonly number[]): number {
  const total = a.length + b.length;
  return total === 0 ? 1 : (2 * lcsLength(a, b)) / total;
}

/** Scores predictions against gold as the script does, for every group. */
export function scoreTaskBench(options: ScoreOptions): TaskBenchScores {
  const tools = options.tools;
  const toolNumber = new Map<string, number>();
  for (const [index, tool] of tools.entries()) toolNumber.set(tool.id, index + 1);
  toolNumber.set('<PAD>', -1);
  const outputType = new Map(
    tools.map((tool) => [tool.id, tool['output-type'].length > 0 ? tool['output-type'][0]! : 'none']),
  );
  const scores: TaskBenchScores = {};
  for (const [split, size] of taskBenchGroups(options.splits, options.nTools)) {
    scores[`${split}_${size}`] = scoreGroup(options, split, size, toolNumber, outputType);
  }
  return scores;
}

function scoreGroup(
  options: ScoreOptions,
  split: string,
  size: string,
  toolNumber: ReadonlyMap<string, number>,
  outputType: ReadonlyMap<string, string>,
): TaskBenchGroupMetrics {
  const labels = new Map<string, unknown>();
  for (const row of options.gold) {
    if (!isRecord(row)) continue;
    if (split !== 'overall' && row.type !== split) continue;
    if (size !== 'overall' && String(pythonLength(row.task_nodes)) !== size) continue;
    labels.set(keyOf(row.id), row);
  }
  const predictions = new Map<string, unknown>();
  for (const row of options.predictions) if (isRecord(row)) predictions.set(keyOf(row.id), row);
  const ids = [...labels.keys()].filter((id) => predictions.has(id));

  const samples: Sample[] = [];
  const carry: Carry = { last: undefined };
  for (const id of ids) {
    try {
      samples.push(readSample(labels.get(id), predictions.get(id), outputType, carry));
    } catch {
      // The script's "Parsing Error ... Ignore #id": the sample counts in all_samples only.
    }
  }
  const metrics: TaskBenchGroupMetrics = {
    all_samples: ids.length,
    step_supports: 0,
    node_supports: samples.length,
    link_supports: samples.length,
    argument_supports: samples.length,
  };
  if (samples.length === 0) return metrics;

  // Nodes: one case per distinct tool name per sample; names outside the tool list count for no tool.
  const tools = options.tools;
  const perTool = tools.map((): Counts => ({ tp: 0, fp: 0, fn: 0 }));
  const firstIndex = new Map<string, number>();
  tools.forEach((tool, index) => {
    if (!firstIndex.has(tool.id)) firstIndex.set(tool.id, index);
  });
  for (const sample of samples) {
    const inGold = new Set(sample.labelNames);
    const inPrediction = new Set(sample.predictionNames);
    for (const name of new Set([...inGold, ...inPrediction])) {
      const index = firstIndex.get(name);
      if (index === undefined) continue;
      const counts = perTool[index]!;
      if (inGold.has(name) && inPrediction.has(name)) counts.tp++;
      else if (inGold.has(name)) counts.fn++;
      else counts.fp++;
    }
  }
  const total = perTool.reduce((sum, counts) => ({
    tp: sum.tp + counts.tp,
    fp: sum.fp + counts.fp,
    fn: sum.fn + counts.fn,
  }));
  const micro = prf(total);
  const perToolScores = perTool.map(prf);
  const mean = (position: 0 | 1 | 2) =>
    perToolScores.reduce((sum, scores) => sum + scores[position], 0) / perToolScores.length;
  metrics.node_micro_precision_no_matching = micro[0];
  metrics.node_micro_recall_no_matching = micro[1];
  metrics.node_micro_f1_no_matching = micro[2];
  metrics.node_macro_precision_no_matching = mean(0);
  metrics.node_macro_recall_no_matching = mean(1);
  metrics.node_macro_f1_no_matching = mean(2);
  metrics.node_per_type_no_matchcing = Object.fromEntries(
    tools.map((tool, index) => {
      const [precision, recall, f1] = perToolScores[index]!;
      const counts = perTool[index]!;
      return [tool.id, { precision, recall, 'f1-score': f1, support: counts.tp + counts.fn }];
    }),
  );

  const same = (text: string) => text;
  metrics.argument_task_argname_binary_f1_no_matching = prf(
    setCounts(
      samples.map((sample) => sample.labelArgNames),
      samples.map((sample) => sample.predictionArgNames),
      same,
    ),
  )[2];
  metrics.argument_task_argname_value_binary_f1_no_matching = prf(
    setCounts(
      samples.map((sample) => sample.labelArgValues),
      samples.map((sample) => sample.predictionArgValues),
      same,
    ),
  )[2];

  const numbers = (names: string[]) => names.map((name) => toolNumber.get(name) ?? 0);
  const ratios = samples.map((sample) =>
    levenshteinRatio(numbers(sample.predictionNames), numbers(sample.labelNames)),
  );
  metrics.edit_distance = 1 - ratios.reduce((sum, ratio) => sum + ratio, 0) / ratios.length;

  metrics.link_binary_f1 = prf(
    setCounts(
      samples.map((sample) => sample.labelLinks),
      samples.map((sample) => sample.predictionLinks),
      (link) => JSON.stringify([link.source, link.target]),
    ),
  )[2];
  return metrics;
}
