import { distance } from 'fastest-levenshtein';

/** Longest name worth comparing: a 1 KB "task name" must not cost a quadratic comparison with every task. */
const MAX_NAME_LENGTH = 100;

/**
 * The candidates `name` was most likely meant to be, closest first: within about a third of its length in
 * edits (at least 2), compared case-insensitively. Empty when none is close (or the name is too long to be a
 * typo). Candidates beyond `limit` are not looked at, so the cost is bounded whatever the input.
 */
export function closestNames(
  name: string,
  candidates: Iterable<string>,
  options: { max?: number; limit?: number } = {},
): string[] {
  if (name.length === 0 || name.length > MAX_NAME_LENGTH) return [];
  const wanted = name.toLowerCase();
  const allowed = Math.max(2, Math.floor(name.length / 3));
  const scored: { candidate: string; score: number }[] = [];
  let seen = 0;
  for (const candidate of candidates) {
    if (++seen > (options.limit ?? 10_000)) break;
    if (candidate.length > MAX_NAME_LENGTH || Math.abs(candidate.length - name.length) > allowed) continue;
    const score = distance(wanted, candidate.toLowerCase());
    if (score <= allowed) scored.push({ candidate, score });
  }
  return scored
    .sort((a, b) => a.score - b.score || a.candidate.localeCompare(b.candidate))
    .slice(0, options.max ?? 3)
    .map((entry) => entry.candidate);
}
