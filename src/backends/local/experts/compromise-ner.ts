import { createRequire } from 'node:module';
import type { ItemEntity } from 'wink-nlp';
import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import type { LocalExpert } from '../expert.js';
import { pluralize, requireText, throwIfAborted } from '../support/inputs.js';
import { lazyModel } from '../support/lazy.js';
import {
  cutPoint,
  leadingText,
  MAX_NER_CHARS,
  NER_CHUNK_CHARS,
  truncationNote,
} from '../support/text-limits.js';
import { mightHoldWinkEntities, winkModel } from '../support/wink.js';

const compromise = lazyModel('compromise English lexicon', async () => ({
  // The package's CommonJS entry is one bundled file; its ES module entry is some 440 files that take about
  // 300 ms longer to load, on every run that recognizes entities.
  nlp: createRequire(import.meta.url)('compromise') as typeof import('compromise').default,
}));

export type EntityType =
  | 'PERSON'
  | 'LOCATION'
  | 'ORGANIZATION'
  | 'DATE'
  | 'TIME'
  | 'MONEY'
  | 'PERCENT'
  | 'QUANTITY'
  | 'EMAIL'
  | 'URL'
  | 'HASHTAG'
  | 'MENTION';

export interface Entity {
  type: EntityType;
  text: string;
  /** Character offsets into the input text, end exclusive. */
  start: number;
  end: number;
  /** Which library found it. */
  source: 'compromise' | 'wink-nlp';
}

interface CompromiseTerm {
  text: string;
  post?: string;
  offset?: { start: number; length: number };
}

// A trailing period belongs to the name only after these abbreviations ("Apple Inc.", not "Google.").
const ABBREVIATIONS = new Set(['inc', 'ltd', 'co', 'corp', 'jr', 'sr', 'st', 'bros', 'llc', 'plc']);

const COMPROMISE_KINDS = [
  ['people', 'PERSON'],
  ['places', 'LOCATION'],
  ['organizations', 'ORGANIZATION'],
] as const;

// wink-nlp's entity types that compromise does not cover, mapped to ours.
const WINK_TYPES: Record<string, EntityType> = {
  DATE: 'DATE',
  TIME: 'TIME',
  MONEY: 'MONEY',
  PERCENT: 'PERCENT',
  DURATION: 'QUANTITY',
  MEASUREMENT: 'QUANTITY',
  EMAIL: 'EMAIL',
  URL: 'URL',
  HASHTAG: 'HASHTAG',
  MENTION: 'MENTION',
};

/**
 * People, places and organizations from compromise, plus dates, money and the like from wink-nlp. The text
 * is read in chunks of `NER_CHUNK_CHARS` ending at sentence ends: compromise's time grows faster than the
 * text (10 KB in one piece took 1.2 s, 198 KB 21.8 s), in chunks it grows with it, and no chunk holds the
 * event loop for long. Callers bound the total (`MAX_NER_CHARS` in the expert).
 */
export async function findEntities(
  text: string,
  onProgress?: (message: string) => void,
  signal?: AbortSignal,
): Promise<Entity[]> {
  const { nlp } = await compromise.get(onProgress);
  const all: Entity[] = [];
  for (let start = 0; start < text.length; ) {
    if (start > 0) {
      // Each chunk is some 20 ms of synchronous work: between chunks the event loop serves other requests,
      // and a task that timed out or was cancelled stops here instead of reading on.
      await new Promise((resolve) => setImmediate(resolve));
      if (signal) throwIfAborted(signal);
    }
    const end = start + cutPoint(text.slice(start, start + NER_CHUNK_CHARS + 1), NER_CHUNK_CHARS);
    const chunk = text.slice(start, end);
    for (const entity of await chunkEntities(nlp, chunk, onProgress))
      all.push({ ...entity, start: entity.start + start, end: entity.end + start });
    start = end;
  }
  return all;
}

async function chunkEntities(
  nlp: typeof import('compromise').default,
  text: string,
  onProgress?: (message: string) => void,
): Promise<Entity[]> {
  const doc = nlp(text);
  const found: Entity[] = [];
  for (const [method, type] of COMPROMISE_KINDS) {
    const matches = doc[method]().json({ offset: true, terms: { offset: true } }) as {
      terms: CompromiseTerm[];
    }[];
    for (const match of matches) {
      const first = match.terms[0];
      const last = match.terms[match.terms.length - 1];
      if (!first?.offset || !last?.offset) continue;
      const start = first.offset.start;
      let end = last.offset.start + last.text.length;
      if (last.post?.startsWith('.') && ABBREVIATIONS.has(last.text.toLowerCase())) end += 1;
      found.push({ type, text: text.slice(start, end), start, end, source: 'compromise' });
    }
  }
  // wink's model takes ~0.3 s to load: a text with no digit, symbol, address or date, time, number, unit or
  // currency word has nothing for it, and names alone are found without it.
  if (mightHoldWinkEntities(text)) found.push(...(await winkEntities(text, onProgress)));
  // Keep the first finder's entity where two overlap (compromise's names beat wink's guesses); quadratic in
  // the entities of one chunk, which are a few hundred at most.
  const kept: Entity[] = [];
  for (const entity of found) {
    if (!kept.some((other) => entity.start < other.end && other.start < entity.end)) kept.push(entity);
  }
  return kept.sort((a, b) => a.start - b.start);
}

async function winkEntities(text: string, onProgress?: (message: string) => void): Promise<Entity[]> {
  const { nlp: wink, its } = await winkModel.get(onProgress);
  const doc = wink.readDoc(text);
  const entities: Entity[] = [];
  let cursor = 0;
  doc.entities().each((entity: ItemEntity) => {
    const type = WINK_TYPES[entity.out(its.type) as string];
    const value = entity.out();
    // wink reports token spans, not characters: find the text from where the last entity ended.
    const start = text.indexOf(value, cursor);
    if (!type || start < 0) return;
    cursor = start + value.length;
    entities.push({ type, text: value, start, end: cursor, source: 'wink-nlp' });
  });
  return entities;
}

const TYPE_NOUNS: Record<EntityType, string> = {
  PERSON: 'person',
  LOCATION: 'place',
  ORGANIZATION: 'organization',
  DATE: 'date',
  TIME: 'time',
  MONEY: 'amount of money',
  PERCENT: 'percentage',
  QUANTITY: 'quantity',
  EMAIL: 'email address',
  URL: 'URL',
  HASHTAG: 'hashtag',
  MENTION: 'mention',
};

/** "2 people: Barack Obama, Angela Merkel; 1 place: Berlin". */
export function summarizeEntities(entities: Entity[]): string {
  if (entities.length === 0) return 'No named entities found.';
  const byType = new Map<EntityType, string[]>();
  for (const entity of entities) {
    const list = byType.get(entity.type) ?? [];
    if (!list.includes(entity.text)) list.push(entity.text);
    byType.set(entity.type, list);
  }
  return [...byType]
    .map(
      ([type, texts]) =>
        `${pluralize(texts.length, TYPE_NOUNS[type]).replace('persons', 'people')}: ${texts.join(', ')}`,
    )
    .join('; ');
}

export const compromiseNer: LocalExpert = {
  id: 'compromise-ner',
  task: 'token-classification',
  description:
    'Named-entity recognition for English text, offline: people, places and organizations from the rule-and-lexicon ' +
    'tagger compromise, plus dates, times, money, percentages, quantities, emails, URLs and hashtags from wink-nlp. ' +
    'Returns each entity with its type and character offsets. Good on well-known and capitalised names; it is not a ' +
    'neural model, so unusual names, lowercase text and other languages are often missed. No scores. Reads the ' +
    'first 20,000 characters of a longer text.',
  sizeBytes: 2_600_000,
  tags: ['ner', 'english', 'compromise', 'wink-nlp'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const read = leadingText(requireText(request), MAX_NER_CHARS);
    throwIfAborted(request.signal);
    const entities = await findEntities(read.text, request.onProgress, request.signal);
    return {
      text: `${summarizeEntities(entities)}${truncationNote(read)}`,
      data: {
        entities,
        ...(read.truncated ? { charactersRead: read.read, charactersGiven: read.total } : {}),
      },
      ...(entities.length === 0 ? { nothingFound: 'no named entities were found in the text' } : {}),
    };
  },
};
