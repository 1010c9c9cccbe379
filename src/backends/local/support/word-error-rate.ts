/** Lowercase words without punctuation, as recognizers write them ("Mr." and "mister" stay different). */
export function normalizeWords(text: string): string[] {
  return text
    .toLowerCase()
    .replace(/<\/?s>|\([^)]*\)/g, ' ')
    .replace(/[^a-z0-9' ]+/g, ' ')
    .split(/\s+/)
    .filter((word) => word !== '');
}

/** Word error rate: word-level edit distance (substitutions + deletions + insertions) / reference words. */
export function wordErrorRate(
  reference: string,
  hypothesis: string,
): { errors: number; words: number; rate: number } {
  const ref = normalizeWords(reference);
  const hyp = normalizeWords(hypothesis);
  let previous = Array.from({ length: hyp.length + 1 }, (_, index) => index);
  for (let i = 1; i <= ref.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= hyp.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (ref[i - 1] === hyp[j - 1] ? 0 : 1);
      current[j] = Math.min(substitution, (previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1);
    }
    previous = current;
  }
  const errors = previous[hyp.length] ?? 0;
  return { errors, words: ref.length, rate: ref.length === 0 ? 0 : errors / ref.length };
}
