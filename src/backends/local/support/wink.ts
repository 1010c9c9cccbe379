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
