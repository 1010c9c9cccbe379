import type winkNLP from 'wink-nlp';
import { lazyModel } from './lazy.js';

type WinkInstance = ReturnType<typeof winkNLP>;

/**
 * One wink-nlp instance per process: loading its English model takes a few hundred ms, reading a
 * document afterwards well under a millisecond. It is synchronous, so sharing it needs no queue.
 */
export const winkModel = lazyModel('wink-nlp English lite model', async () => {
  const [{ default: createWink }, { default: model }] = await Promise.all([
    import('wink-nlp'),
    import('wink-eng-lite-web-model'),
  ]);
  const nlp = createWink(model);
  return { nlp, its: nlp.its } as { nlp: WinkInstance; its: WinkInstance['its'] };
});

/**
 * Words that every date, time, duration, quantity or amount of money wink-nlp recognizes contains at least one
 * of (besides digits and symbols): its model's number, month, weekday, unit and currency words, less the
 * common words that only ever come with one of these ("on", "next", "about", "the").
 */
const ANCHOR_WORDS = new Set(
  (
    'one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen ' +
    'eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety hundred hundreds thousand thousands ' +
    'million millions billion billions trillion trillions dozen dozens zero first second third fourth fifth sixth ' +
    'seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth ' +
    'nineteenth twentieth thirtieth fortieth fiftieth sixtieth seventieth eightieth ninetieth hundredth ' +
    'thousandth millionth billionth trillionth twenties thirties forties fifties sixties seventies eighties ' +
    'nineties january february march april may june july august september october november december jan feb mar ' +
    'apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday saturday sunday mon tue tues wed ' +
    'thu thur thurs fri sat sun today tomorrow yesterday tonight morning afternoon evening night noon midnight ' +
    'midday mid-day mid-night am pm a.m. p.m. ad bc a.d. b.c. spring summer autumn fall winter christmas ' +
    'valentine valentines d-day weekend fortnight millisecond milliseconds second seconds minute minutes hour ' +
    'hours day days week weeks month months year years decade decades century centuries millennium percent ' +
    'dollar dollars euro euros pound pounds yen rupee rupees rouble roubles usd aud cent cents'
  ).split(' '),
);

/**
 * Whether wink-nlp could find a date, time, amount, quantity, email, URL, hashtag or mention in the text: a
 * digit, one of `$ € £ ¥ ₨ ₩ ₹ ₽ ₿ % @ #`, a web address, or one of its anchor words. Without any, loading
 * its English model (~0.3 s on first use) can be skipped: it would find nothing that NER keeps.
 */
export function mightHoldWinkEntities(text: string): boolean {
  if (/[\d$€£¥₨₩₹₽₿%@#]|:\/\/|\bwww\.|\.[a-z]{2,}\b/i.test(text)) return true;
  for (const word of text.toLowerCase().match(/[a-z][a-z.-]*/g) ?? []) {
    if (ANCHOR_WORDS.has(word) || ANCHOR_WORDS.has(word.replace(/[.-]+$/, ''))) return true;
    for (const part of word.split('-'))
      if (ANCHOR_WORDS.has(part) || ANCHOR_WORDS.has(part.replace(/\.+$/, ''))) return true;
  }
  return false;
}
