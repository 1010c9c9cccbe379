// `fs` as Node 22 has it, for the conformance CLI on Node 20: it imports `globSync` (used only by its
// tier-report command, never by the server scenarios), which Node 20's `fs` lacks.
import fs from 'node:fs';

export * from 'node:fs';
export default fs;
export function globSync() {
  throw new Error('globSync needs Node 22; the server scenarios do not use it');
}
