import { foundNothing, type TaskOutput } from '../../core/output.js';

/** A model's score as people read it: 0.9731 becomes "97.3%". */
export const percent = (score: number): string => `${Math.round(score * 1000) / 10}%`;

/** The best labels first, each with its score: "cat (92.1%), dog (5.3%)". */
export function labelList(items: readonly { label: string; score: number }[], top = 5): string {
  return [...items]
    .sort((a, b) => b.score - a.score)
    .slice(0, top)
    .map((item) => `${item.label} (${percent(item.score)})`)
    .join(', ');
}

/** Named entities as the answer reads them: "Paris (LOC), Ada Lovelace (PER)"; none found is said as data. */
export function entitiesOutput(
  output: readonly { word: string; entity?: string; entity_group?: string }[],
): TaskOutput {
  if (output.length === 0) return foundNothing('no named entities were found in the text', output);
  return {
    text: output
      .map((entity) => `${entity.word} (${entity.entity_group ?? entity.entity ?? '?'})`)
      .join(', '),
    data: output,
  };
}
