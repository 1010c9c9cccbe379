import type { GrammarSteps } from '../core/llm.js';
import {
  HUGGING_FACE_TASKS,
  RESOURCE_KINDS,
  type ResourceKind,
  type TaskDefinition,
  type TaskVocabulary,
  vocabularyTasks,
} from '../core/tasks.js';

/** Most tasks a plan may have under the grammar (each position is its own set of rules). */
export const MAX_GRAMMAR_TASKS = 6;

/** Longest literal the grammar lets a model write: a short text (longer ones come from tasks), a file name. */
export const MAX_GRAMMAR_TEXT_CHARS = 240;
export const MAX_GRAMMAR_FILE_CHARS = 120;

type MediaKind = Exclude<ResourceKind, 'text'>;

interface Group {
  names: string[];
  definition: TaskDefinition;
  /** Its output is a media kind some listed task takes: tasks after it may refer to it in a media argument. */
  producer: boolean;
}

/** GBNF string literal for `text` (JSON-encoded, then escaped for the grammar). */
function gbnfLiteral(text: string): string {
  return JSON.stringify(text);
}

/** The GBNF of a JSON string holding exactly `text`. */
function jsonString(text: string): string {
  return gbnfLiteral(JSON.stringify(text));
}

/**
 * Literals the model may write, chosen so that the validator reads each as one plain value: no `<` (a
 * `<GENERATED>`-like text inside a literal would be read as a reference), no `\u` escapes (which could spell
 * one). A file name or URL has no spaces, commas or semicolons either: "a.jpg, b.jpg" would be split into
 * one task per file, and a chain of such lists could unfold past the plan's limit.
 */
const LITERAL_RULES = [
  `text-char ::= [^"\\\\<\\x7F\\x00-\\x1F] | "\\\\" ["\\\\/bfnrt]`,
  `text-literal ::= "\\"" text-char{1,${MAX_GRAMMAR_TEXT_CHARS}} "\\""`,
  `file-char ::= [^"\\\\<,;\\x7F\\x00-\\x20]`,
  `file-literal ::= "\\"" file-char{1,${MAX_GRAMMAR_FILE_CHARS}} "\\""`,
];

/** Tasks that take the same arguments, need the same ones and matter alike as producers share rules. */
function groupsOf(definitions: readonly TaskDefinition[]): Group[] {
  const consumed = new Set(definitions.flatMap((definition) => definition.inputs));
  const groups = new Map<string, Group>();
  for (const definition of definitions) {
    const producer = definition.outputs.some((kind) => kind !== 'text' && consumed.has(kind));
    const key =
      RESOURCE_KINDS.map((kind) =>
        definition.required.includes(kind) ? 'R' : definition.inputs.includes(kind) ? 'O' : '-',
      ).join('') + (producer ? 'P' : '');
    const group = groups.get(key);
    if (group) group.names.push(definition.name);
    else groups.set(key, { names: [definition.name], definition, producer });
  }
  return [...groups.values()];
}

/** Earlier positions whose output is of each media kind. */
type Producers = Record<MediaKind, number[]>;

/**
 * The grammar of a plan reply, `{"tasks":[...]}`, written in steps. The rules of the validator are in it:
 * known task names, ids 0, 1, 2, ... in order, each task's required arguments present and no others, literal
 * values read as one plain value, and references only to earlier tasks, in a media argument only to tasks
 * that produce that kind. Which kind a task produces depends on the name the model picked, which no single
 * context-free grammar of a practical size can follow, so a step ends after each task whose output some task
 * could take as media; the next step's grammar is made knowing what it produced. When no listed task takes
 * a media kind another produces, the whole reply is one step.
 */
export class PlanGrammar {
  private readonly groups: Group[];
  private readonly producesMedia: (name: string) => MediaKind[];

  constructor(
    definitions: readonly TaskDefinition[],
    readonly maxTasks: number = MAX_GRAMMAR_TASKS,
  ) {
    this.groups = groupsOf(definitions);
    const byName = new Map(definitions.map((definition) => [definition.name, definition]));
    this.producesMedia = (name) =>
      (byName.get(name)?.outputs ?? []).filter((kind): kind is MediaKind => kind !== 'text');
  }

  /** True when a media argument can ever refer to another task: then the reply takes more than one step. */
  get stepwise(): boolean {
    return this.groups.some((group) => group.producer);
  }

  /**
   * The GBNF grammar of what follows `written` (a reply begun under these grammars): the whole reply when
   * `written` is empty; undefined when the reply is complete or is not one these grammars produce.
   */
  next(written: string): string | undefined {
    if (written === '') return this.step(0, { image: [], audio: [], video: [] });
    if (!written.endsWith(',')) return undefined;
    let tasks: unknown;
    try {
      tasks = (JSON.parse(`${written.slice(0, -1)}]}`) as { tasks?: unknown }).tasks;
    } catch {
      return undefined;
    }
    if (!Array.isArray(tasks) || tasks.length === 0 || tasks.length >= this.maxTasks) return undefined;
    const producers: Producers = { image: [], audio: [], video: [] };
    tasks.forEach((task: { task?: unknown }, position) => {
      const name = typeof task?.task === 'string' ? task.task : '';
      for (const kind of this.producesMedia(name)) producers[kind].push(position);
    });
    return this.step(tasks.length, producers);
  }

  /** The grammar from position `start` on, with `producers` known. */
  private step(start: number, producers: Producers): string {
    const rules: string[] = [];
    if (this.groups.length === 0) return `root ::= ${gbnfLiteral('{"tasks":[]}')}`;
    rules.push(
      start === 0
        ? `root ::= ${gbnfLiteral('{"tasks":[')} (${gbnfLiteral(']}')} | p0)`
        : `root ::= p${start}`,
    );
    const end = gbnfLiteral(']}');
    const comma = gbnfLiteral(',');
    for (let position = start; position < this.maxTasks; position++) {
      const last = position === this.maxTasks - 1;
      const plain = this.groups.flatMap((group, index) => (group.producer ? [] : [`t${position}-${index}`]));
      const producing = this.groups.flatMap((group, index) =>
        group.producer ? [`t${position}-${index}`] : [],
      );
      const options: string[] = [];
      if (plain.length > 0) {
        options.push(`(${plain.join(' | ')}) ${last ? end : `(${end} | ${comma} p${position + 1})`}`);
      }
      if (producing.length > 0)
        options.push(`(${producing.join(' | ')}) ${last ? end : `(${end} | ${comma})`}`);
      rules.push(`p${position} ::= ${options.join(' | ')}`);
      this.groups.forEach((group, index) => {
        rules.push(`t${position}-${index} ::= ${this.taskRule(group, index, position, producers)}`);
      });
      const earlier = ['-1', ...Array.from({ length: position }, (_, id) => String(id))];
      rules.push(`dep${position} ::= ${earlier.map(gbnfLiteral).join(' | ')}`);
    }
    this.groups.forEach((group, index) => {
      rules.push(`name${index} ::= ${group.names.map(jsonString).join(' | ')}`);
    });
    rules.push(...LITERAL_RULES);
    return rules.join('\n');
  }

  private taskRule(group: Group, index: number, position: number, producers: Producers): string {
    const args = RESOURCE_KINDS.filter((kind) => group.definition.inputs.includes(kind)).map(
      (kind) => `${jsonString(kind)} ":" ${this.argumentRule(group.definition, kind, position, producers)}`,
    );
    return [
      gbnfLiteral('{"task":'),
      `name${index}`,
      gbnfLiteral(`,"id":${position},"dep":[`),
      position === 0 ? 'dep0' : `dep${position} (${gbnfLiteral(',')} dep${position}){0,${position}}`,
      gbnfLiteral('],"args":{'),
      args.length > 0 ? args.join(` ${gbnfLiteral(',')} `) : '',
      gbnfLiteral('}}'),
    ]
      .filter((part) => part !== '')
      .join(' ');
  }

  /** A literal, an allowed reference, or null where the argument is optional. */
  private argumentRule(
    definition: TaskDefinition,
    kind: ResourceKind,
    position: number,
    producers: Producers,
  ): string {
    const ids =
      kind === 'text'
        ? Array.from({ length: position }, (_, id) => id)
        : producers[kind as MediaKind].filter((id) => id < position);
    const options = [
      ...(ids.length > 0 ? [ids.map((id) => jsonString(`<GENERATED>-${id}`)).join(' | ')] : []),
      kind === 'text' ? 'text-literal' : 'file-literal',
      ...(definition.required.includes(kind) ? [] : [gbnfLiteral('null')]),
    ];
    return `(${options.join(' | ')})`;
  }
}

/**
 * The grammar steps of a plan for controllers that constrain decoding themselves (the embedded model), at
 * no prompt cost: whatever the model writes under them is a plan the validator accepts, empty or not.
 */
export function planGrammarSteps(
  tasks?: readonly string[],
  vocabulary: TaskVocabulary = HUGGING_FACE_TASKS,
  maxTasks = MAX_GRAMMAR_TASKS,
): GrammarSteps {
  // Built on the first step: controllers that do not constrain decoding (OpenAI-compatible ones) never ask.
  let grammar: PlanGrammar | undefined;
  return {
    maxSteps: maxTasks + 1,
    next: (written) => {
      grammar ??= new PlanGrammar(vocabularyTasks(vocabulary, tasks), maxTasks);
      return grammar.next(written);
    },
  };
}
