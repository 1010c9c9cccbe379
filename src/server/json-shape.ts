/**
 * Request bodies are parsed with `JSON.parse` on the event loop. Its time follows the body's length, except for
 * nesting and for many small arrays and objects: 800 KB of `[[[[…` holds the loop ~200 ms, and a
 * 29 MiB chat body of `[],[],…` for seconds, while every other request waits. No body the API takes needs
 * more than a few levels or a few thousand containers, so the shape is checked first, in one pass that jumps
 * over string contents (base64 images are most of a large body) with `indexOf`.
 */

/** Deepest nesting of arrays and objects a body may have (a chat message with content parts is 5). */
export const MAX_JSON_DEPTH = 32;
/** Most arrays and objects a body may have (a long chat history of multi-part messages stays far below). */
export const MAX_JSON_CONTAINERS = 50_000;

/** Quotes and brackets: the only characters that change what the scan is inside. */
const STRUCTURE = /["[\]{}]/g;

/**
 * The shape check over a body that arrives in pieces, so that a body refused by its shape is refused after its
 * first offending bytes, before the rest is read. Strings may be cut anywhere between pieces.
 */
export class JsonShapeScanner {
  private depth = 0;
  private containers = 0;
  private inString = false;
  /** Inside a string, the previous piece ended in an odd number of backslashes. */
  private escaped = false;

  /** Scans the next piece; answers why the body is refused, once it is. */
  push(text: string): string | undefined {
    let from = 0;
    for (;;) {
      if (this.inString) {
        const end = this.closingQuote(text, from);
        if (end === -1) return undefined;
        this.inString = false;
        from = end + 1;
      }
      STRUCTURE.lastIndex = from;
      const match = STRUCTURE.exec(text);
      if (!match) return undefined;
      const char = text.charCodeAt(match.index);
      from = match.index + 1;
      if (char === 0x22) {
        this.inString = true;
      } else if (char === 0x5b || char === 0x7b) {
        this.depth += 1;
        this.containers += 1;
        if (this.depth > MAX_JSON_DEPTH) return `it nests deeper than ${MAX_JSON_DEPTH} levels`;
        if (this.containers > MAX_JSON_CONTAINERS) {
          return `it has more than ${MAX_JSON_CONTAINERS} arrays and objects`;
        }
      } else {
        this.depth -= 1;
      }
    }
  }

  /** The index of the quote that closes the current string, or -1 (remembering a trailing backslash run). */
  private closingQuote(text: string, from: number): number {
    if (this.escaped) {
      this.escaped = false;
      if (from >= text.length) {
        this.escaped = true;
        return -1;
      }
      from += 1; // The character the previous piece's backslash escapes.
    }
    let end = text.indexOf('"', from);
    while (end !== -1) {
      let backslashes = 0;
      while (end - 1 - backslashes >= from && text.charCodeAt(end - 1 - backslashes) === 0x5c)
        backslashes += 1;
      if (backslashes % 2 === 0) return end;
      end = text.indexOf('"', end + 1);
    }
    let trailing = 0;
    while (trailing < text.length - from && text.charCodeAt(text.length - 1 - trailing) === 0x5c)
      trailing += 1;
    this.escaped = trailing % 2 === 1;
    return -1;
  }
}

/** Why the body's shape is refused, or undefined when it is within the limits (or not JSON at all). */
export function jsonShapeProblem(text: string): string | undefined {
  return new JsonShapeScanner().push(text);
}
