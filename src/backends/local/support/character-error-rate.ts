import { distance } from 'fastest-levenshtein';

/** Runs of whitespace (line breaks included) become one space; ends are trimmed. Case and punctuation count. */
export function normalizeOcrText(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}

/**
 * Character error rate: character edit distance (substitutions + deletions + insertions) between the
 * whitespace-normalised texts, over the reference's length. Text read that is not in the reference counts
 * (insertions), so the rate can exceed 1.
 */
export function characterErrorRate(
  reference: string,
  hypothesis: string,
): { errors: number; characters: number; rate: number } {
  const ref = normalizeOcrText(reference);
  const hyp = normalizeOcrText(hypothesis);
  const errors = distance(ref, hyp);
  return {
    errors,
    characters: ref.length,
    rate: ref.length === 0 ? (hyp.length === 0 ? 0 : 1) : errors / ref.length,
  };
}
