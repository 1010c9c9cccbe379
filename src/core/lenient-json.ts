/**
 * Tolerant reading of JSON that an LLM wrote: fences, prose around it, <think> blocks, trailing commas,
 * single quotes, Python constants, cut-off output. Pure functions, shared by the stages that read LLM JSON.
 *
 * The reader is linear in its input: the reply's length is capped, every bracketed segment it tries is
 * charged to a budget proportional to that length, and a segment nested deeper than a plan can be makes it
 * give up. Past a bound it throws a JsonReadLimitError saying which bound, never grinds on.
 */
import { jsonrepair } from 'jsonrepair';
import { MAX_NESTING_DEPTH, MAX_REPLY_CHARS, MAX_SCAN_FACTOR, MAX_SEGMENTS } from './plan-limits.js';

/** The text is too long, too deep or too full of brackets to be read within the reader's bounds. */
export class JsonReadLimitError extends Error {
  override readonly name = 'JsonReadLimitError';
}

/**
 * Reasoning models (DeepSeek-R1, Qwen3) think aloud first, often drafting JSON there: only the answer counts.
 * One forward pass of indexed searches rather than a lazy regex, which rescans to the end of the text
 * for every unclosed "<think>".
 */
export function withoutThinking(reply: string): string {
  const open = /<think>/gi;
  const close = /<\/think>/gi;
  let out = '';
  let from = 0;
  for (;;) {
    open.lastIndex = from;
    const opened = open.exec(reply);
    if (!opened) break;
    close.lastIndex = opened.index + opened[0].length;
    const closed = close.exec(reply);
    // An unclosed <think> stays, as the regex left it: the answer may be inside a cut-off reply.
    if (!closed) break;
    out += reply.slice(from, opened.index);
    from = closed.index + closed[0].length;
  }
  return out + reply.slice(from);
}

/** The bodies of ``` fenced blocks, the last one possibly unclosed. */
export function fencedBlocks(text: string): string[] {
  return [...text.matchAll(/```[\w-]*[^\S\n]*\n?([\s\S]*?)(?:```|$)/g)].map((match) => match[1] ?? '');
}

/**
 * The bracketed segments of one reply, tried one after another by a caller that decides where to look
 * next. All segments of a reply (its fenced blocks and its whole text) share one budget of characters.
 */
export class SegmentReader {
  private spent = 0;
  private tried = 0;
  private readonly budget: number;

  constructor(reply: string) {
    if (reply.length > MAX_REPLY_CHARS) {
      throw new JsonReadLimitError(
        `The reply is ${reply.length} characters long; at most ${MAX_REPLY_CHARS} are read.`,
      );
    }
    // Fenced blocks and the whole text are both read: twice the length, times the factor, plus some slack
    // for short replies.
    this.budget = 2 * MAX_SCAN_FACTOR * reply.length + 4_000;
  }

  /** Whether another segment may be tried (the segment cap; the budget is checked by `read`). */
  get more(): boolean {
    return this.tried < MAX_SEGMENTS;
  }

  /** The segment of `text` opening at `start`: where it ends and what it parses to (undefined: nothing). */
  read(text: string, start: number): { end: number; value: unknown } {
    this.tried++;
    const end = segmentEnd(text, start);
    this.spent += end - start;
    if (this.spent > this.budget) {
      throw new JsonReadLimitError(
        `The reply holds too much bracketed text that is not the JSON asked for; gave up after reading ${this.spent} characters of it.`,
      );
    }
    return { end, value: parseLenient(text.slice(start, end)) };
  }
}

/**
 * The first JSON value in a reply (fenced blocks first) that `accept` takes — by default any object or list —
 * or undefined when there is none, or when the reply is beyond the reader's bounds (a caller wanting the
 * reason uses SegmentReader itself). A stricter `accept` skips prose that parses, such as "[sic]".
 */
export function firstJsonValue(
  reply: string,
  accept: (value: unknown) => boolean = (value) => typeof value === 'object' && value !== null,
): unknown {
  try {
    const reader = new SegmentReader(reply);
    const text = withoutThinking(reply);
    for (const body of [...fencedBlocks(text), text]) {
      let start = nextOpening(body, 0);
      while (start !== -1 && reader.more) {
        const { value } = reader.read(body, start);
        if (value !== undefined && accept(value)) return value;
        // The bracket may belong to prose ("[sic]"): look for JSON inside or after it.
        start = nextOpening(body, start + 1);
      }
    }
  } catch (error) {
    if (error instanceof JsonReadLimitError) return undefined;
    throw error;
  }
  return undefined;
}

export function nextOpening(text: string, from: number): number {
  for (let index = from; index < text.length; index++) {
    const char = text[index];
    if (char === '[' || char === '{') return index;
  }
  return -1;
}

/**
 * The end (exclusive) of the bracketed value starting at `start`, skipping brackets inside strings.
 * A value cut off by the end of the reply ends at the end of the text; jsonrepair closes it. Throws a
 * JsonReadLimitError for a value nested deeper than MAX_NESTING_DEPTH.
 */
export function segmentEnd(text: string, start: number): number {
  const stack: string[] = [];
  let index = start;
  let previousSignificant = '';
  while (index < text.length) {
    const char = text[index]!;
    if (char === '"' || (char === "'" && opensValue(previousSignificant))) {
      index = stringEnd(text, index, char);
      previousSignificant = char;
      continue;
    }
    if (char === '[' || char === '{') {
      stack.push(char === '[' ? ']' : '}');
      // Deeper than any plan: parsing it (jsonrepair recurses) and walking it would only cost.
      if (stack.length > MAX_NESTING_DEPTH) {
        throw new JsonReadLimitError(
          `The reply nests brackets more than ${MAX_NESTING_DEPTH} deep; a plan needs at most a few levels.`,
        );
      }
    } else if (char === ']' || char === '}') {
      // A mismatched closer ("[{...]") closes the inner value too, as a human reader would.
      const at = stack.lastIndexOf(char);
      if (at !== -1) stack.length = at;
      if (stack.length === 0) return index + 1;
    }
    if (!isSpace(char)) previousSignificant = char;
    index++;
  }
  return text.length;
}

/** `/\s/` without a regex call for the common ASCII characters: the scanners ask it of every character. */
function isSpace(char: string): boolean {
  if (char === ' ' || char === '\n' || char === '\t' || char === '\r') return true;
  return char > '~' && /\s/.test(char);
}

/** Whether a quote after this character (the last non-space one) opens a string: the JSON positions of a value. */
function opensValue(previousSignificant: string): boolean {
  return (
    previousSignificant === '' ||
    previousSignificant === '[' ||
    previousSignificant === '{' ||
    previousSignificant === ',' ||
    previousSignificant === ':'
  );
}

/** The index just after the string opened at `start` by `quote`. */
function stringEnd(text: string, start: number, quote: string): number {
  let index = start + 1;
  while (index < text.length) {
    const char = text[index];
    if (char === '\\') {
      index += 2;
      continue;
    }
    if (char === quote) {
      // A single quote ends the string only before JSON punctuation: "it's" inside 'text' is not an end.
      if (quote === '"' || /^\s*(?:[,:\]}]|$)/.test(text.slice(index + 1, index + 20))) return index + 1;
    }
    if (char === '\n' && quote === "'") return index;
    index++;
  }
  return text.length;
}

/** JSON.parse, else the same after requoting and jsonrepair; undefined when nothing parses. */
export function parseLenient(segment: string): unknown {
  try {
    return JSON.parse(segment);
  } catch {
    try {
      return JSON.parse(jsonrepair(requoteSingleQuotedStrings(segment)));
    } catch {
      return undefined;
    }
  }
}

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r' };

/**
 * Python-style 'strings' become "strings" before jsonrepair sees them, because jsonrepair ends a single-quoted
 * string at the first apostrophe ('it's' -> "it"s"), while here it ends only before JSON punctuation.
 */
function requoteSingleQuotedStrings(segment: string): string {
  if (!segment.includes("'")) return segment;
  let out = '';
  let index = 0;
  // Characters copied unchanged are copied in runs, from `copied` up to the next string.
  let copied = 0;
  let previousSignificant = '';
  while (index < segment.length) {
    const char = segment[index]!;
    if (char === '"') {
      index = stringEnd(segment, index, '"');
      previousSignificant = '"';
      continue;
    }
    if (char === "'" && opensValue(previousSignificant)) {
      out += segment.slice(copied, index);
      const end = stringEnd(segment, index, "'");
      const closed = segment[end - 1] === "'" && end - 1 > index;
      const inner = segment
        .slice(index + 1, closed ? end - 1 : end)
        .replace(/\\(.)/g, (_escape, next: string) => (Object.hasOwn(ESCAPES, next) ? ESCAPES[next]! : next));
      out += JSON.stringify(inner);
      index = end;
      copied = end;
      previousSignificant = '"';
      continue;
    }
    if (!isSpace(char)) previousSignificant = char;
    index++;
  }
  return out + segment.slice(copied);
}

/**
 * Whether a parsed value nests arrays and objects more than `max` deep, found without recursion (a value
 * from JSON.parse can be far deeper than the stack) and stopping at the first level past `max`.
 */
export function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null) continue;
    if (depth + 1 > max) return true;
    for (const inner of Object.values(current)) {
      if (typeof inner === 'object' && inner !== null) stack.push([inner, depth + 1]);
    }
  }
  return false;
}
