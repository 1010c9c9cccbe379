// The real images, recordings, TaskBench rows and Hub model list the tests use, committed under test/fixtures
// (origins and licences in test/fixtures/README.md), so a plain clone tests everything with nothing beside it.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}
