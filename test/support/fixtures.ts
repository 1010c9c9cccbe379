// The real images, recordings, TaskBench rows and Hub model list the tests use, committed under test/fixtures
// (origins and licences in test/fixtures/README.md), so a plain clone tests everything with nothing beside it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixture(...parts: string[]): string {
  return join(FIXTURES, ...parts);
}

/** The audiobook clips in audio/ with what the reader says in each (`audio/transcription`, CMU Sphinx's format). */
export function audiobookClips(): { file: string; path: string; reference: string }[] {
  return readFileSync(fixture('audio', 'transcription'), 'utf8')
    .split('\n')
    .map((line) => /^<s>\s*(.*?)\s*<\/s>\s*\((.+)\)\s*$/.exec(line.trim()))
    .filter((match) => match !== null)
    .map((match) => ({
      file: `${match[2]}.wav`,
      path: fixture('audio', `${match[2]}.wav`),
      reference: match[1] ?? '',
    }));
}
