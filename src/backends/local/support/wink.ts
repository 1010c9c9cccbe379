import model from 'wink-eng-lite-web-model';
import winkNLP from 'wink-nlp';

type WinkInstance = ReturnType<typeof winkNLP>;

let instance: { nlp: WinkInstance; its: WinkInstance['its'] } | undefined;

/**
 * One wink-nlp instance per process: loading its English model takes ~100 ms, reading a document
 * afterwards well under a millisecond. It is synchronous, so sharing it needs no queue.
 */
export function winkNlp(): { nlp: WinkInstance; its: WinkInstance['its'] } {
  if (!instance) {
    const nlp = winkNLP(model);
    instance = { nlp, its: nlp.its };
  }
  return instance;
}
