import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { worstEventLoopGap } from '../../../../test/support/event-loop.js';
import { inferenceRequest } from '../../../../test/support/expert-requests.js';
import { createLocalBackend } from '../index.js';
import { mightHoldWinkEntities } from '../support/wink.js';

const backend = createLocalBackend();

interface EntityData {
  entities: { type: string; text: string; start: number; end: number }[];
}

describe('named-entity recognition (compromise-ner)', () => {
  test('finds people, places and organizations with offsets into the text', async () => {
    const text =
      'Barack Obama met Angela Merkel in Berlin on Tuesday, then flew to Paris to speak at the United Nations.';
    const output = await backend.infer(inferenceRequest('token-classification', 'compromise-ner', { text }));
    const { entities } = output.data as EntityData;
    const of = (type: string) =>
      entities.filter((entity) => entity.type === type).map((entity) => entity.text);
    assert.deepEqual(of('PERSON'), ['Barack Obama', 'Angela Merkel']);
    assert.ok(of('LOCATION').includes('Berlin'));
    assert.ok(of('LOCATION').includes('Paris'));
    assert.ok(of('ORGANIZATION').includes('United Nations'), `organizations: ${of('ORGANIZATION')}`);
    for (const entity of entities) assert.equal(text.slice(entity.start, entity.end), entity.text);
    assert.match(output.text ?? '', /2 people: Barack Obama, Angela Merkel/);
    assert.match(output.text ?? '', /Berlin/);
  });

  test('reports dates and money found by wink-nlp beside the names', async () => {
    const text = 'On March 3rd 2020 Jane Goodall paid $20 for a ticket to Nairobi.';
    const output = await backend.infer(inferenceRequest('token-classification', 'compromise-ner', { text }));
    const types = (output.data as EntityData).entities.map((entity) => `${entity.type}:${entity.text}`);
    assert.ok(types.includes('PERSON:Jane Goodall'), types.join(', '));
    assert.ok(types.includes('MONEY:$20'), types.join(', '));
    assert.ok(
      types.some((entry) => entry.startsWith('DATE:March 3rd')),
      types.join(', '),
    );
  });

  test('wink-nlp is asked about every text that holds a date, time, amount or address, and about no plain names', async () => {
    const { default: createWink } = await import('wink-nlp');
    const { default: model } = await import('wink-eng-lite-web-model');
    const wink = createWink(model);
    const kept = new Set([
      'DATE',
      'TIME',
      'MONEY',
      'PERCENT',
      'DURATION',
      'MEASUREMENT',
      'EMAIL',
      'URL',
      'HASHTAG',
      'MENTION',
    ]);
    const sentences = [
      'We met a few days later.',
      'It took half an hour.',
      'A couple of weeks passed.',
      'Meet me at noon.',
      'Tonight we dine.',
      'This morning was cold.',
      'On Christmas Eve we sang.',
      'Back in the nineties it was fine.',
      'A month ago I left.',
      'The past year was hard.',
      'The day before yesterday.',
      'Happy New Year.',
      'Easter Sunday is near.',
      'At the end of the decade.',
      'Twenty percent.',
      'Zero hour.',
      'Noonday sun.',
      'Write to ada@example.org or see www.example.org and #launch by @ada.',
      'It costs 5 euros, or $6 (20% more).',
      'On March 3rd 2020 Jane Goodall paid $20 for a ticket to Nairobi.',
      'The meeting ran from 9am to 5pm.',
    ];
    for (const sentence of sentences) {
      const found = wink.readDoc(sentence).entities().out(wink.its.detail) as unknown as { type: string }[];
      if (found.some((entity) => kept.has(entity.type)))
        assert.ok(mightHoldWinkEntities(sentence), `wink finds ${JSON.stringify(found)} in "${sentence}"`);
    }
    assert.equal(
      mightHoldWinkEntities('Barack Obama met Angela Merkel in Berlin to talk about the United Nations.'),
      false,
    );
  });

  test('says so plainly when the text names nothing', async () => {
    const output = await backend.infer(
      inferenceRequest('token-classification', 'compromise-ner', { text: 'it is raining' }),
    );
    assert.equal(output.text, 'No named entities found.');
    assert.deepEqual((output.data as EntityData).entities, []);
  });

  test('a missing text input is an inference error, not a crash', async () => {
    await assert.rejects(backend.infer(inferenceRequest('token-classification', 'compromise-ner', {})), {
      code: 'inference',
      message: /needs a text input/,
    });
  });
});

describe('long texts', () => {
  const sentence =
    'Barack Obama met Angela Merkel in Berlin on 3 May 2015 and paid $300 to Apple Inc. for 20% of it. ';
  const book = (size: number) => sentence.repeat(Math.ceil(size / sentence.length)).slice(0, size);

  test('NER on a 1 MB text answers in seconds, reading the first 20,000 characters and saying so', async () => {
    const text = book(1_000_000);
    const started = performance.now();
    const output = await backend.infer(inferenceRequest('token-classification', 'compromise-ner', { text }));
    const ms = performance.now() - started;
    assert.ok(ms < 10_000, `took ${Math.round(ms)} ms`);
    assert.match(output.text ?? '', /\(read the first 19,9\d\d of 1,000,000 characters\)$/);
    const data = output.data as EntityData & { charactersRead: number; charactersGiven: number };
    assert.equal(data.charactersGiven, 1_000_000);
    assert.ok(data.charactersRead <= 20_000 && data.charactersRead > 19_000);
    assert.ok(data.entities.every((entity) => entity.end <= data.charactersRead));
  });

  test('NER reads a long text in chunks without losing names or offsets at the chunk ends', async () => {
    const text = book(12_000);
    const output = await backend.infer(inferenceRequest('token-classification', 'compromise-ner', { text }));
    const { entities } = output.data as EntityData;
    for (const entity of entities) assert.equal(text.slice(entity.start, entity.end), entity.text);
    const people = entities.filter((entity) => entity.type === 'PERSON');
    // Every sentence names both people; a name cut in two at a chunk end would be missing or misspelt.
    assert.equal(people.length, 2 * Math.ceil(12_000 / sentence.length));
    assert.ok(people.every((entity) => entity.text === 'Barack Obama' || entity.text === 'Angela Merkel'));
    assert.doesNotMatch(output.text ?? '', /read the first/);
  });

  test('NER on a long text lets other work run between its chunks, and stops when its task is cancelled', async () => {
    const text = book(20_000);
    const worstGap = await worstEventLoopGap(async () => {
      await backend.infer(inferenceRequest('token-classification', 'compromise-ner', { text }));
    });
    // ~20 ms per chunk; the bound is loose for a busy 2-core machine, and far below one 20,000-character call.
    assert.ok(worstGap < 300, `the event loop was held ${Math.round(worstGap)} ms`);

    const controller = new AbortController();
    const started = performance.now();
    const cancelled = backend.infer(
      inferenceRequest('token-classification', 'compromise-ner', { text }, { signal: controller.signal }),
    );
    setTimeout(() => controller.abort(), 100);
    await assert.rejects(cancelled, { code: 'cancelled' });
    assert.ok(performance.now() - started < 600, 'it stopped within a chunk or two of the cancel');
  });

  test('sentiment of a 1 MB text reads the first 20,000 characters and says so', async () => {
    const started = performance.now();
    const output = await backend.infer(
      inferenceRequest('text-classification', 'wink-sentiment', { text: book(1_000_000) }),
    );
    assert.ok(performance.now() - started < 5_000);
    assert.match(output.text ?? '', /\(read the first 19,9\d\d of 1,000,000 characters\)$/);
  });
});

describe('sentiment (wink-sentiment)', () => {
  const classify = async (text: string) => {
    const output = await backend.infer(inferenceRequest('text-classification', 'wink-sentiment', { text }));
    return output.data as { label: string; score: number; polarity: number };
  };

  test('labels praise positive and complaints negative', async () => {
    assert.equal((await classify('I love this phone, the camera is wonderful.')).label, 'POSITIVE');
    assert.equal((await classify('The service was terrible and the food was awful.')).label, 'NEGATIVE');
  });

  test('handles negation: "not good" is negative, "I do not hate it" is not negative', async () => {
    assert.equal((await classify('This movie is not good.')).label, 'NEGATIVE');
    assert.notEqual((await classify("I don't hate it.")).label, 'NEGATIVE');
  });

  test('plain statements are neutral', async () => {
    const result = await classify('The meeting is on the third floor.');
    assert.equal(result.label, 'NEUTRAL');
  });

  test('the score is between 0 and 1 and the text names the label', async () => {
    const output = await backend.infer(
      inferenceRequest('text-classification', 'wink-sentiment', { text: 'Great work!' }),
    );
    const data = output.data as { label: string; score: number };
    assert.ok(data.score > 0 && data.score <= 1);
    assert.match(output.text ?? '', /^POSITIVE/);
  });
});

describe('the local backend', () => {
  test('lists a card per expert, marked local and built-in', async () => {
    const cards = await backend.listModels('token-classification');
    assert.equal(cards[0]?.id, 'compromise-ner');
    assert.equal(cards[0]?.backend, 'local');
    assert.equal(cards[0]?.local, true);
    assert.equal(cards[0]?.available, true);
    assert.ok(backend.supports('text-classification'));
    assert.ok(!backend.supports('text-to-video'));
  });

  test('an unknown model id is refused with the list of what exists for the task', async () => {
    await assert.rejects(backend.infer(inferenceRequest('text-classification', 'no-such', { text: 'hi' })), {
      code: 'no-such-model',
      message: /wink-sentiment/,
    });
  });
});
