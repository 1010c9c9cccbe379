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

/** Why the body's shape is refused, or undefined when it is within the limits (or not JSON at all). */
export function jsonShapeProblem(text: string): string | undefined {
  let depth = 0;
  let containers = 0;
  STRUCTURE.lastIndex = 0;
  for (let match = STRUCTURE.exec(text); match; match = STRUCTURE.exec(text)) {
    const at = match.index;
    const char = text.charCodeAt(at);
    if (char === 0x22) {
      // Skip to the closing quote: one not preceded by an odd number of backslashes.
      let end = text.indexOf('"', at + 1);
      while (end !== -1) {
        let backslashes = 0;
        while (text.charCodeAt(end - 1 - backslashes) === 0x5c) backslashes += 1;
        if (backslashes % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return undefined; // An unclosed string: JSON.parse refuses it at once.
      STRUCTURE.lastIndex = end + 1;
    } else if (char === 0x5b || char === 0x7b) {
      depth += 1;
      containers += 1;
      if (depth > MAX_JSON_DEPTH) return `it nests deeper than ${MAX_JSON_DEPTH} levels`;
      if (containers > MAX_JSON_CONTAINERS)
        return `it has more than ${MAX_JSON_CONTAINERS} arrays and objects`;
    } else {
      depth -= 1;
    }
  }
  return undefined;
}
