import { PIPELINE_DATA } from '@huggingface/tasks';
import { MAX_TASK_NAME_CHARS } from './plan-limits.js';

/** The kinds of resource that flow between tasks; also the argument names a plan may use. */
export const RESOURCE_KINDS = ['text', 'image', 'audio', 'video'] as const;
export type ResourceKind = (typeof RESOURCE_KINDS)[number];

/**
 * HuggingGPT's control tasks (ControlNet pre-processors and conditioned generation) and its legacy
 * `conversational` task: not Hugging Face pipeline tags, but part of the planning vocabulary.
 */
export const CONTROL_TASKS = [
  'canny-control',
  'hed-control',
  'mlsd-control',
  'normal-control',
  'openpose-control',
  'depth-control',
  'scribble-control',
  'seg-control',
  'canny-text-to-image',
  'hed-text-to-image',
  'mlsd-text-to-image',
  'normal-text-to-image',
  'openpose-text-to-image',
  'depth-text-to-image',
  'scribble-text-to-image',
  'seg-text-to-image',
] as const;

export const LEGACY_TASKS = ['conversational', 'text2text-generation'] as const;

export type PipelineTask = keyof typeof PIPELINE_DATA;
export type ControlTask = (typeof CONTROL_TASKS)[number];
export type TaskName = PipelineTask | ControlTask | (typeof LEGACY_TASKS)[number];

export const TASK_NAMES: readonly TaskName[] = [
  ...(Object.keys(PIPELINE_DATA) as PipelineTask[]).filter((task) => task !== 'other'),
  ...CONTROL_TASKS,
  ...LEGACY_TASKS,
];

const TASK_SET = new Set<string>(TASK_NAMES);

export function isTaskName(value: string): value is TaskName {
  return TASK_SET.has(value);
}

/** What a task takes (argument kinds, required ones first) and what it produces. */
export interface TaskSignature {
  readonly inputs: readonly ResourceKind[];
  /** Inputs that must be present; the rest are optional. */
  readonly required: readonly ResourceKind[];
  readonly output: ResourceKind;
}

const sig = (
  inputs: ResourceKind[],
  output: ResourceKind,
  required: ResourceKind[] = inputs,
): TaskSignature => ({
  inputs,
  required,
  output,
});

const EXPLICIT_SIGNATURES: Partial<Record<TaskName, TaskSignature>> = {
  'text-classification': sig(['text'], 'text'),
  'token-classification': sig(['text'], 'text'),
  'zero-shot-classification': sig(['text'], 'text'),
  'question-answering': sig(['text'], 'text'),
  'table-question-answering': sig(['text'], 'text'),
  translation: sig(['text'], 'text'),
  summarization: sig(['text'], 'text'),
  conversational: sig(['text'], 'text'),
  'text-generation': sig(['text'], 'text'),
  'text2text-generation': sig(['text'], 'text'),
  'fill-mask': sig(['text'], 'text'),
  'sentence-similarity': sig(['text'], 'text'),
  'feature-extraction': sig(['text'], 'text'),
  'text-to-speech': sig(['text'], 'audio'),
  'text-to-audio': sig(['text'], 'audio'),
  'automatic-speech-recognition': sig(['audio'], 'text'),
  'audio-to-audio': sig(['audio'], 'audio'),
  'audio-classification': sig(['audio'], 'text'),
  'depth-estimation': sig(['image'], 'image'),
  'image-classification': sig(['image'], 'text'),
  'object-detection': sig(['image'], 'image'),
  'image-segmentation': sig(['image'], 'image'),
  'text-to-image': sig(['text'], 'image'),
  'image-to-text': sig(['image'], 'text'),
  'image-to-image': sig(['image', 'text'], 'image', ['image']),
  'text-to-video': sig(['text'], 'video'),
  'visual-question-answering': sig(['image', 'text'], 'text'),
  'document-question-answering': sig(['image', 'text'], 'text'),
  'zero-shot-image-classification': sig(['image', 'text'], 'text', ['image']),
  'zero-shot-object-detection': sig(['image', 'text'], 'image', ['image']),
  'image-text-to-text': sig(['image', 'text'], 'text', ['image']),
  'video-classification': sig(['video'], 'text'),
  'tabular-classification': sig(['text'], 'text'),
  'tabular-regression': sig(['text'], 'text'),
};

/** The signature of a task: explicit where we know it, else derived from its modality. */
export function taskSignature(task: TaskName): TaskSignature {
  const explicit = EXPLICIT_SIGNATURES[task];
  if (explicit) return explicit;
  if ((CONTROL_TASKS as readonly string[]).includes(task)) {
    return task.endsWith('-text-to-image')
      ? sig(['image', 'text'], 'image', ['image'])
      : sig(['image'], 'image');
  }
  const modality = (PIPELINE_DATA as Record<string, { modality: string }>)[task]?.modality;
  switch (modality) {
    case 'cv':
      return sig(['image', 'text'], 'image', ['image']);
    case 'audio':
      return sig(['audio', 'text'], 'audio', []);
    case 'multimodal':
      return sig(['image', 'audio', 'video', 'text'], 'text', []);
    default:
      return sig(['text'], 'text');
  }
}

/**
 * Maps a near-miss task name an LLM wrote ("Object Detection", "object_detection", "objectdetection")
 * to the vocabulary, or returns undefined.
 */
export function normalizeTaskName(raw: string): TaskName | undefined {
  // No task name is longer; a long one is not worth cleaning up.
  if (raw.length > MAX_TASK_NAME_CHARS) return undefined;
  const cleaned = raw
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replace(/-+/g, '-');
  if (isTaskName(cleaned)) return cleaned;
  const squashed = cleaned.replace(/-/g, '');
  return SQUASHED_NAMES.get(squashed) ?? TASK_ALIASES.get(squashed);
}

/** Task names without hyphens ("objectdetection"), built once: the did-you-mean asks for many spellings. */
const SQUASHED_NAMES = new Map<string, TaskName>(TASK_NAMES.map((task) => [task.replace(/-/g, ''), task]));

/** A Map, not an object literal: "constructor" or "__proto__" must not find Object's own properties. */
const TASK_ALIASES = new Map<string, TaskName>(
  Object.entries({
    ner: 'token-classification',
    namedentityrecognition: 'token-classification',
    sentimentanalysis: 'text-classification',
    sentiment: 'text-classification',
    tts: 'text-to-speech',
    asr: 'automatic-speech-recognition',
    speechrecognition: 'automatic-speech-recognition',
    speechtotext: 'automatic-speech-recognition',
    imagecaptioning: 'image-to-text',
    captioning: 'image-to-text',
    ocr: 'image-to-text',
    vqa: 'visual-question-answering',
    poseestimation: 'openpose-control',
    pose: 'openpose-control',
    chat: 'conversational',
  } satisfies Record<string, TaskName>),
);

/** Tasks the controller LLM performs itself, as HuggingGPT does. */
export const LLM_TEXT_TASKS: readonly TaskName[] = [
  'summarization',
  'translation',
  'conversational',
  'text-generation',
  'text2text-generation',
  'question-answering',
];

/**
 * One task a planner may use: its name, what it does (shown to the LLM when given), the argument kinds it
 * takes and the kinds it produces. A kind listed twice in `inputs` takes two values ("Image Stitcher":
 * image, image); `<GENERATED>-k` refers to task k's output of the argument's kind, else its first output.
 */
export interface TaskDefinition<Name extends string = string> {
  readonly name: Name;
  readonly description?: string;
  readonly inputs: readonly ResourceKind[];
  /** Inputs that must be present; the rest are optional. */
  readonly required: readonly ResourceKind[];
  /** At least one; the first is what a text argument receives when the consumer takes no media of these. */
  readonly outputs: readonly ResourceKind[];
}

/**
 * The tasks a planner may use: the built-in Hugging Face list (`HUGGING_FACE_TASKS`), or one a caller
 * defines (TaskBench's tool list, an MCP server's tools) with `defineTaskVocabulary`.
 */
export interface TaskVocabulary<Name extends string = string> {
  readonly tasks: readonly TaskDefinition<Name>[];
  readonly names: readonly Name[];
  /** The definition of exactly this name. */
  get(name: string): TaskDefinition<Name> | undefined;
  /** The task a near-miss name means ("Object Detection", "object_detection", an alias), or undefined. */
  resolve(raw: string): Name | undefined;
  /** Only these tasks (unknown names ignored), keeping resolve's spelling tolerance and aliases. */
  restrict(names: Iterable<string>): TaskVocabulary<Name>;
  /** True for the built-in Hugging Face list (its demos and lean prompt apply). */
  readonly builtIn: boolean;
}

/** Lower case, words joined by single hyphens: "Object_Detection " -> "object-detection". */
function cleanTaskName(raw: string): string {
  return raw
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, '-')
    .replace(/-+/g, '-');
}

export interface DefineVocabularyOptions<Name extends string> {
  /** Other names for tasks, matched like names ("ocr" -> "image-to-text"). */
  aliases?: Readonly<Record<string, Name>>;
}

/**
 * A vocabulary from a list of definitions. Names must be unique (ignoring case, spaces, hyphens and
 * underscores), every task needs at least one output kind, and required inputs must be inputs; a broken
 * list throws a TypeError naming the task.
 */
/** The tasks of `vocabulary`, or only those named in `names` when given (unknown names left out). */
export function vocabularyTasks(
  vocabulary: TaskVocabulary,
  names: readonly string[] | undefined,
): readonly TaskDefinition[] {
  if (!names) return vocabulary.tasks;
  return [...new Set(names)].flatMap((name) => vocabulary.get(name) ?? []);
}

export function defineTaskVocabulary<Name extends string>(
  definitions: readonly TaskDefinition<Name>[],
  options: DefineVocabularyOptions<Name> = {},
): TaskVocabulary<Name> {
  return buildVocabulary(definitions, options, false);
}

function buildVocabulary<Name extends string>(
  definitions: readonly TaskDefinition<Name>[],
  options: DefineVocabularyOptions<Name>,
  builtIn: boolean,
  resolveOverride?: (raw: string) => Name | undefined,
): TaskVocabulary<Name> {
  const exact = new Map<string, TaskDefinition<Name>>();
  const squashed = new Map<string, Name>();
  for (const definition of definitions) {
    const name = definition.name;
    if (typeof name !== 'string' || name.trim() === '') throw new TypeError('A task needs a name.');
    if (definition.outputs.length === 0)
      throw new TypeError(`Task "${name}" needs at least one output kind.`);
    for (const kind of [...definition.inputs, ...definition.outputs]) {
      if (!(RESOURCE_KINDS as readonly string[]).includes(kind)) {
        throw new TypeError(`Task "${name}": "${kind}" is not one of ${RESOURCE_KINDS.join(', ')}.`);
      }
    }
    const missing = definition.required.find((kind) => !definition.inputs.includes(kind));
    if (missing) throw new TypeError(`Task "${name}" requires "${missing}", which is not one of its inputs.`);
    const key = cleanTaskName(name).replace(/-/g, '');
    if (squashed.has(key)) throw new TypeError(`Task "${name}" is listed twice.`);
    squashed.set(key, name);
    exact.set(name, definition);
  }
  const aliases = new Map<string, Name>();
  for (const [alias, name] of Object.entries(options.aliases ?? {}) as [string, Name][]) {
    if (exact.has(name)) aliases.set(cleanTaskName(alias).replace(/-/g, ''), name);
  }
  const longest = Math.max(MAX_TASK_NAME_CHARS, ...definitions.map((definition) => definition.name.length));
  const resolve =
    resolveOverride ??
    ((raw: string): Name | undefined => {
      if (typeof raw !== 'string' || raw.length > longest) return undefined;
      if (exact.has(raw)) return raw as Name;
      const key = cleanTaskName(raw).replace(/-/g, '');
      return squashed.get(key) ?? aliases.get(key);
    });
  return {
    tasks: definitions,
    names: definitions.map((definition) => definition.name),
    builtIn,
    get: (name) => exact.get(name),
    resolve: (raw) => {
      const name = resolve(raw);
      return name !== undefined && exact.has(name) ? name : undefined;
    },
    restrict: (names) => {
      const wanted = new Set(names);
      return buildVocabulary(
        definitions.filter((definition) => wanted.has(definition.name)),
        options,
        builtIn,
        resolveOverride,
      );
    },
  };
}

/** The built-in definition of a Hugging Face or control task. */
export function taskDefinition(task: TaskName): TaskDefinition<TaskName> {
  const signature = taskSignature(task);
  return { name: task, inputs: signature.inputs, required: signature.required, outputs: [signature.output] };
}

/** The built-in vocabulary: Hugging Face pipeline tasks, HuggingGPT's control tasks and legacy tasks. */
export const HUGGING_FACE_TASKS: TaskVocabulary<TaskName> = buildVocabulary(
  TASK_NAMES.map(taskDefinition),
  {},
  true,
  normalizeTaskName,
);
