import type { ItemSentence } from 'wink-nlp';
import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import type { LocalExpert } from '../expert.js';
import { requireText, throwIfAborted } from '../support/inputs.js';
import { leadingText, MAX_SENTIMENT_CHARS, truncationNote } from '../support/text-limits.js';
import { winkModel } from '../support/wink.js';

export type SentimentLabel = 'POSITIVE' | 'NEGATIVE' | 'NEUTRAL';

export interface Sentiment {
  label: SentimentLabel;
  /** How strongly the text leans to its label, 0..1; a lexicon strength, not a calibrated probability. */
  score: number;
  /** wink-nlp's polarity, -1 (negative) .. 1 (positive). */
  polarity: number;
}

// Below this polarity magnitude the lexicon has found too little either way to call it.
const NEUTRAL_BAND = 0.05;

export function sentimentOf(polarity: number): Sentiment {
  const rounded = Math.round(polarity * 1000) / 1000;
  if (Math.abs(polarity) < NEUTRAL_BAND) {
    return {
      label: 'NEUTRAL',
      score: Math.round((1 - Math.abs(polarity) / NEUTRAL_BAND) * 1000) / 1000,
      polarity: rounded,
    };
  }
  return {
    label: polarity > 0 ? 'POSITIVE' : 'NEGATIVE',
    score: Math.min(1, Math.abs(rounded)),
    polarity: rounded,
  };
}

export async function analyzeSentiment(
  text: string,
  onProgress?: (message: string) => void,
): Promise<Sentiment & { sentences: (Sentiment & { text: string })[] }> {
  const { nlp, its } = await winkModel.get(onProgress);
  const doc = nlp.readDoc(text);
  const sentences: (Sentiment & { text: string })[] = [];
  doc.sentences().each((sentence: ItemSentence) => {
    sentences.push({ text: sentence.out(), ...sentimentOf(sentence.out(its.sentiment) as number) });
  });
  return { ...sentimentOf(doc.out(its.sentiment) as number), sentences };
}

export const winkSentiment: LocalExpert = {
  id: 'wink-sentiment',
  task: 'text-classification',
  description:
    'Sentiment of English text, offline, with wink-nlp and its English lite model: POSITIVE, NEGATIVE or NEUTRAL with ' +
    'a strength score, for the whole text and per sentence. Lexicon-based with negation handling ("not good" is ' +
    'negative) and emoji/emoticons; misses sarcasm and domain-specific wording. Sentiment only: it does not do ' +
    'topic or other label sets. Reads the first 20,000 characters of a longer text.',
  sizeBytes: 3_500_000,
  tags: ['sentiment', 'english', 'wink-nlp'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const read = leadingText(requireText(request), MAX_SENTIMENT_CHARS);
    throwIfAborted(request.signal);
    const result = await analyzeSentiment(read.text, request.onProgress);
    const detail = result.label === 'NEUTRAL' ? '' : ` (strength ${result.score.toFixed(2)})`;
    return {
      text: `${result.label}${detail}${truncationNote(read)}`,
      data: {
        ...result,
        ...(read.truncated ? { charactersRead: read.read, charactersGiven: read.total } : {}),
      },
    };
  },
};
