import { cutMiddle, messagesTokens, replyReserve } from '../core/context-fit.js';
import type { ChatMessage } from '../core/llm.js';
import {
  HUGGING_FACE_TASKS,
  RESOURCE_KINDS,
  type TaskDefinition,
  type TaskVocabulary,
  vocabularyTasks,
} from '../core/tasks.js';

/** What a task takes and gives: "image, text? -> image" ("?" marks an optional input). */
function signatureOf(definition: TaskDefinition): string {
  const inputs = definition.inputs.map((kind) => (definition.required.includes(kind) ? kind : `${kind}?`));
  return `${inputs.length > 0 ? inputs.join(', ') : 'nothing'} -> ${definition.outputs.join(', ')}`;
}

/**
 * The task list, each task once: tasks without a description grouped under their signature (74 built-in
 * tasks in about 400 tokens instead of 760), then one line per task that has a description.
 */
function describeTasks(definitions: readonly TaskDefinition[]): string {
  const groups = new Map<string, string[]>();
  const described: string[] = [];
  for (const definition of definitions) {
    const signature = signatureOf(definition);
    if (definition.description) {
      described.push(`${definition.name} (${signature}): ${definition.description}`);
      continue;
    }
    const names = groups.get(signature);
    if (names) names.push(definition.name);
    else groups.set(signature, [definition.name]);
  }
  return [...[...groups].map(([signature, names]) => `${signature}: ${names.join(', ')}`), ...described].join(
    '\n',
  );
}

/**
 * The system prompt of the planning stage, in the spirit of HuggingGPT's "#1 Task Planning Stage", kept
 * short: every word here is paid on every request. `tasks` limits the list to those names; `vocabulary` is
 * the task list (default: the built-in one). The JSON schema sent beside it carries no task names.
 */
export function planSystemPrompt(
  tasks?: readonly string[],
  vocabulary: TaskVocabulary = HUGGING_FACE_TASKS,
): string {
  return [
    "#1 Task Planning Stage: turn the user's request into a JSON list of tasks for expert AI models:",
    '[{"task": TASK, "id": ID, "dep": [IDS], "args": {KIND: VALUE}}]',
    '- "id": unique integers from 0; "dep": the ids of the tasks whose output it uses, or [-1].',
    '- "args": only the kinds the task takes (text, image, audio, video), each a string: a text, a file name ' +
      'or URL from the request or chat log, or "<GENERATED>-k" for the output of that kind of task k.',
    'Available tasks (inputs -> output; "?" marks an optional input):',
    describeTasks(vocabularyTasks(vocabulary, tasks)),
    'Rules: use only these tasks, as few as the request needs; never invent a file; one task per file; ' +
      'a task uses only outputs of other tasks; reply [] when no task is needed (chit-chat, questions ' +
      'you can answer from knowledge); reply with the JSON list only.',
  ].join('\n');
}

/** The user message for a request, with the chat log the way HuggingGPT shows it. */
export function planUserMessage(request: string, chatLog: readonly ChatMessage[] = []): string {
  if (chatLog.length === 0) return request;
  const log = chatLog.map((message) => `${message.role}: ${message.content}`).join('\n');
  return (
    `The chat log [\n${log}\n] may mention the files I mean.\n` +
    `Now I input: ${request}\n` +
    'Mind the input and output kinds of the tasks and the dependencies between them.'
  );
}

const demo = (request: string, plan: unknown[], chatLog: ChatMessage[] = []): ChatMessage[] => [
  { role: 'user', content: planUserMessage(request, chatLog) },
  { role: 'assistant', content: JSON.stringify(plan) },
];

/**
 * Few-shot demonstrations, written for Jarvis: one task; a chain; a graph where two results meet; several
 * input files; a file from an earlier turn; chit-chat. When the context is short, demos are dropped from the
 * front, so chit-chat goes last: a greeting planned as tools costs a whole run of experts.
 */
export const PLAN_DEMOS: readonly ChatMessage[] = [
  ...demo('What is written on the sign in /photos/street-sign.png?', [
    { task: 'image-to-text', id: 0, dep: [-1], args: { image: '/photos/street-sign.png' } },
  ]),
  ...demo('Read the printed page in scan.png out loud for me.', [
    { task: 'image-to-text', id: 0, dep: [-1], args: { image: 'scan.png' } },
    { task: 'text-to-speech', id: 1, dep: [0], args: { text: '<GENERATED>-0' } },
  ]),
  ...demo(
    'Listen to question.wav and answer the question it asks about kitchen.jpg. Also show me which objects are in the kitchen.',
    [
      { task: 'automatic-speech-recognition', id: 0, dep: [-1], args: { audio: 'question.wav' } },
      { task: 'object-detection', id: 1, dep: [-1], args: { image: 'kitchen.jpg' } },
      {
        task: 'visual-question-answering',
        id: 2,
        dep: [0],
        args: { image: 'kitchen.jpg', text: '<GENERATED>-0' },
      },
    ],
  ),
  ...demo(
    'I took three photos of the pasture, farm1.jpg, farm2.jpg and farm3.jpg. How many cows are there in total?',
    [
      { task: 'object-detection', id: 0, dep: [-1], args: { image: 'farm1.jpg' } },
      { task: 'object-detection', id: 1, dep: [-1], args: { image: 'farm2.jpg' } },
      { task: 'object-detection', id: 2, dep: [-1], args: { image: 'farm3.jpg' } },
    ],
  ),
  ...demo(
    'What is she wearing?',
    [
      {
        task: 'visual-question-answering',
        id: 0,
        dep: [-1],
        args: { image: 'uploads/dancer.jpg', text: 'What is she wearing?' },
      },
    ],
    [
      { role: 'user', content: 'Who is in uploads/dancer.jpg?' },
      { role: 'assistant', content: 'A ballet dancer mid-leap on a stage.' },
    ],
  ),
  ...demo('Thanks, that was helpful! What can you do?', []),
];

export interface PlanPromptOptions {
  request: string;
  /** Earlier messages of the conversation, oldest first. */
  history?: readonly ChatMessage[];
  /** The controller's context window; history is trimmed oldest-first to fit. */
  contextTokens: number;
  /** Most history messages shown, newest kept. Default 20. */
  maxHistoryMessages?: number;
  availableTasks?: readonly string[];
  /** The task list (default: the built-in Hugging Face one). */
  vocabulary?: TaskVocabulary;
  /**
   * Few-shot demonstrations (user/assistant pairs). Default: Jarvis's own for the built-in vocabulary,
   * none for a custom one (the demos name built-in tasks).
   */
  demos?: readonly ChatMessage[];
  /** Hears what was cut to fit the context (older history, the middle of a long request). */
  onNotice?: (message: string) => void;
}

const tokensOf = messagesTokens;

/**
 * The messages of a planning call: system prompt, demos, then the request with as much recent history as
 * fits in the context window (newest kept). When even the demos do not fit, the earliest demos go first.
 */
export function buildPlanMessages(options: PlanPromptOptions): ChatMessage[] {
  const vocabulary = options.vocabulary ?? HUGGING_FACE_TASKS;
  const system: ChatMessage = {
    role: 'system',
    content: planSystemPrompt(options.availableTasks, vocabulary),
  };
  // Room for the reply: a plan of a dozen tasks is well under 1,000 tokens.
  const budget = options.contextTokens - replyReserve(options.contextTokens);
  const maxHistory = options.maxHistoryMessages ?? 20;
  const history = (options.history ?? []).filter((message) => message.role !== 'system');

  let demos = [...(options.demos ?? (vocabulary.builtIn ? PLAN_DEMOS : []))];
  const bare = (): number =>
    tokensOf([system, ...demos, { role: 'user', content: planUserMessage(options.request) }]);
  while (demos.length > 2 && bare() > budget) demos = demos.slice(2);

  const kept: ChatMessage[] = [];
  let index = history.length - 1;
  for (; index >= 0 && kept.length < maxHistory; index--) {
    const candidate = [history[index]!, ...kept];
    const user: ChatMessage = { role: 'user', content: planUserMessage(options.request, candidate) };
    if (tokensOf([system, ...demos, user]) > budget) break;
    kept.unshift(history[index]!);
  }
  // Messages past maxHistoryMessages are a setting; messages the context had no room for are news.
  const leftOut = kept.length < maxHistory ? index + 1 : 0;
  if (leftOut > 0) {
    options.onNotice?.(
      `${leftOut} earlier message${leftOut === 1 ? '' : 's'} of the conversation left out to fit the controller's context of ${options.contextTokens} tokens.`,
    );
  }
  let request = options.request;
  if (bare() > budget) {
    // Even alone the request does not fit: its middle goes, never the instructions.
    const room = (budget - tokensOf([system, ...demos, { role: 'user', content: '' }])) * 4;
    request = cutMiddle(request, Math.max(0, room));
    options.onNotice?.(
      `The request (${options.request.length} characters) is longer than the controller's context of ${options.contextTokens} tokens allows: its middle was cut, with a marker, to fit.`,
    );
  }
  return [system, ...demos, { role: 'user', content: planUserMessage(request, kept) }];
}

/** The follow-up message of the repair round: what was wrong with the previous reply. */
export function repairMessage(problems: readonly string[]): string {
  return [
    'Your task list cannot be run:',
    ...problems.map((problem) => `- ${problem}`),
    'Reply with the corrected JSON list only (or [] if no task is needed), following the rules above.',
  ].join('\n');
}

const nullableString = { type: ['string', 'null'] };

/** One task of a plan in the schema's shape; `task` is any string (the prompt lists the names). */
function taskItemSchema(): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      task: { type: 'string' },
      id: { type: 'integer' },
      dep: { type: 'array', items: { type: 'integer' } },
      args: {
        type: 'object',
        properties: Object.fromEntries(RESOURCE_KINDS.map((kind) => [kind, nullableString])),
        required: [...RESOURCE_KINDS],
        additionalProperties: false,
      },
    },
    required: ['task', 'id', 'dep', 'args'],
    additionalProperties: false,
  };
}

function planSchema(items: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    properties: { tasks: { type: 'array', items } },
    required: ['tasks'],
    additionalProperties: false,
  };
}

/**
 * The JSON schema of a plan sent to providers with structured output. The root is an object because
 * OpenAI's structured outputs need one; every property is required and unused arguments are null, as strict
 * mode wants. It names no tasks: the prompt lists them once, and the validator checks the names (a
 * near-miss is mapped, an unknown one goes to the repair round). `parsePlanText` and `validatePlan` accept
 * this shape.
 */
export function planJsonSchemaFor(): { name: string; schema: Record<string, unknown> } {
  return { name: 'task_plan', schema: planSchema(taskItemSchema()) };
}

export const planJsonSchema = planJsonSchemaFor();
