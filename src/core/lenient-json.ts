/**
 * Tolerant reading of JSON that an LLM wrote: fences, prose around it, <think> blocks, trailing commas,
 * single quotes, Python constants, cut-off output. Pure functions, shared by the stages that read LLM JSON.
 */
import { jsonrepair } from 'jsonrepair';

/** Reasoning models (DeepSeek-R1, Qwen3) think aloud first, often drafting JSON there: only the answer counts. */
export function withoutThinking(reply: string): string {
  return reply.replace(/<think>[\s\S]*?<\/think>/gi, '');
}

/** The bodies of ``` fenced blocks, the last one possibly unclosed. */
export function fencedBlocks(text: string): string[] {
  return [...text.matchAll(/```[\w-]*[^\S\n]*\n?([\s\S]*?)(?:```|$)/g)].map((match) => match[1] ?? '');
}

/** Upper bound on bracketed segments tried, so a reply full of brackets cannot keep a parser busy. */
export const MAX_SEGMENTS = 200;

/**
 * The first JSON value in a reply (fenced blocks first) that `accept` takes — by default any object or list —
 * or undefined when there is none. A stricter `accept` skips prose that parses, such as "[sic]".
 */
export function firstJsonValue(
  reply: string,
  accept: (value: unknown) => boolean = (value) => typeof value === 'object' && value !== null,
): unknown {
  const text = withoutThinking(reply);
  for (const body of [...fencedBlocks(text), text]) {
    let start = nextOpening(body, 0);
    for (let tried = 0; start !== -1 && tried < MAX_SEGMENTS; tried++) {
      const value = parseLenient(body.slice(start, segmentEnd(body, start)));
      if (value !== undefined && accept(value)) return value;
      // The bracket may belong to prose ("[sic]"): look for JSON inside or after it.
      start = nextOpening(body, start + 1);
    }
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
 * A value cut off by the end of the reply ends at the end of the text; jsonrepair closes it.
 */
export function segmentEnd(text: string, start: number): number {
  const stack: string[] = [];
  let index = start;
  let previousSignificant = '';
  while (index < text.length) {
    const char = text[index]!;
    if (char === '"' || (char === "'" && /^[[{,:]?$/.test(previousSignificant))) {
      index = stringEnd(text, index, char);
      previousSignificant = char;
      continue;
    }
    if (char === '[' || char === '{') {
      stack.push(char === '[' ? ']' : '}');
    } else if (char === ']' || char === '}') {
      // A mismatched closer ("[{...]") closes the inner value too, as a human reader would.
      const at = stack.lastIndexOf(char);
      if (at !== -1) stack.length = at;
      if (stack.length === 0) return index + 1;
    }
    if (!/\s/.test(char)) previousSignificant = char;
    index++;
  }
  return text.length;
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
  let previousSignificant = '';
  while (index < segment.length) {
    const char = segment[index]!;
    if (char === '"') {
      const end = stringEnd(segment, index, '"');
      out += segment.slice(index, end);
      index = end;
      previousSignificant = '"';
      continue;
    }
    if (char === "'" && /^[[{,:]?$/.test(previousSignificant)) {
      const end = stringEnd(segment, index, "'");
      const closed = segment[end - 1] === "'" && end - 1 > index;
      const inner = segment
        .slice(index + 1, closed ? end - 1 : end)
        .replace(/\\(.)/g, (_escape, next: string) => ESCAPES[next] ?? next);
      out += JSON.stringify(inner);
      index = end;
      previousSignificant = '"';
      continue;
    }
    out += char;
    if (!/\s/.test(char)) previousSignificant = char;
    index++;
  }
  return out;
}
