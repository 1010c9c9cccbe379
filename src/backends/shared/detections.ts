import { type ArtifactSink, type InputFile, inputName, type TaskOutput } from '../../core/output.js';
import { drawBoxes, type LabelledBox } from '../../media/draw-boxes.js';
import { writeJpeg } from './artifacts.js';

export type { LabelledBox } from '../../media/draw-boxes.js';

const IRREGULAR: Record<string, string> = {
  person: 'people',
  mouse: 'mice',
  knife: 'knives',
  sheep: 'sheep',
};

/** "1 zebra", "3 zebras", "2 people". */
export function pluralize(count: number, noun: string): string {
  if (count === 1) return `${count} ${noun}`;
  const words = noun.split(' ');
  const last = words.pop() ?? noun;
  const plural =
    IRREGULAR[last] ??
    (/(s|x|z|ch|sh)$/.test(last)
      ? `${last}es`
      : /[^aeiou]y$/.test(last)
        ? `${last.slice(0, -1)}ies`
        : `${last}s`);
  return `${count} ${[...words, plural].join(' ')}`;
}

/** "2 zebras, 1 giraffe": most frequent first, then alphabetical; the counts by label. */
export function countSummary(detections: readonly LabelledBox[]): {
  counts: Record<string, number>;
  text: string;
} {
  const counts: Record<string, number> = {};
  for (const detection of detections) counts[detection.label] = (counts[detection.label] ?? 0) + 1;
  const ordered = Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
  const text =
    ordered.length === 0
      ? 'No objects found'
      : ordered.map(([label, count]) => pluralize(count, label)).join(', ');
  return { counts: Object.fromEntries(ordered), text };
}

/**
 * Object detection's answer in both Hugging Face backends: the counts as text, the detections as data and
 * the annotated image as an artifact; no detection is "nothing found", not an error.
 */
export async function detectionOutput(
  image: InputFile,
  detections: LabelledBox[],
  artifacts: ArtifactSink,
): Promise<TaskOutput> {
  const { text } = countSummary(detections);
  const artifact = await writeJpeg(artifacts, await drawBoxes(image.path, detections), `detections: ${text}`);
  return {
    text,
    data: detections,
    artifacts: [artifact],
    ...(detections.length === 0 ? { nothingFound: `no objects were found in ${inputName(image)}` } : {}),
  };
}
