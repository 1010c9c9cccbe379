import { MAX_IMAGE_PIXELS } from '../../core/media-limits.js';
import type { ArtifactSink, TaskOutput } from '../../core/output.js';
import { writePng } from './artifacts.js';

export interface LabelledBox {
  label: string;
  score: number;
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
}

const COLORS = ['#e6194b', '#3cb44b', '#4363d8', '#f58231', '#911eb4', '#42d4f4', '#f032e6', '#bfef45'];

const escapeXml = (text: string): string =>
  text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);

/**
 * The input image with each detection drawn as a labelled box (one color per label), as PNG: object
 * detection's output is an image in HuggingGPT, so later tasks and the user can see what was found.
 */
export async function drawBoxes(imagePath: string, detections: readonly LabelledBox[]): Promise<Uint8Array> {
  // Loaded on first use: sharp's native binding costs start-up time that runs without images should not pay.
  const { default: sharp } = await import('sharp');
  // The limit makes sharp refuse, rather than decode, an image over it that reached this far.
  const image = sharp(imagePath, { limitInputPixels: MAX_IMAGE_PIXELS }).rotate();
  const { width = 1, height = 1 } = await image.metadata();
  const labels = [...new Set(detections.map((detection) => detection.label))];
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 200));
  const fontSize = Math.max(12, Math.round(Math.min(width, height) / 30));
  const shapes = detections
    .map((detection) => {
      const color = COLORS[labels.indexOf(detection.label) % COLORS.length];
      const { xmin, ymin, xmax, ymax } = detection.box;
      const text = `${escapeXml(detection.label)} ${Math.round(detection.score * 100)}%`;
      const textY = Math.max(fontSize, ymin - stroke);
      return (
        `<rect x="${xmin}" y="${ymin}" width="${Math.max(1, xmax - xmin)}" height="${Math.max(1, ymax - ymin)}" ` +
        `fill="none" stroke="${color}" stroke-width="${stroke}"/>` +
        `<text x="${xmin + stroke}" y="${textY}" font-family="sans-serif" font-size="${fontSize}" ` +
        `fill="${color}" stroke="black" stroke-width="0.5">${text}</text>`
      );
    })
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${shapes}</svg>`;
  return new Uint8Array(
    await image
      .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
      .png()
      .toBuffer(),
  );
}

/** "2 zebras, 1 giraffe": what a person wants to read first about detections. */
export function countLabels(labels: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const label of labels) counts.set(label, (counts.get(label) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([label, count]) => `${count} ${label}`)
    .join(', ');
}

/**
 * Object detection's answer in both Hugging Face backends: the counts as text, the detections as data and
 * the annotated image as an artifact.
 */
export async function detectionOutput(
  imagePath: string,
  detections: LabelledBox[],
  artifacts: ArtifactSink,
): Promise<TaskOutput> {
  const artifact = await writePng(artifacts, await drawBoxes(imagePath, detections), 'annotated detections');
  return {
    text: detections.length > 0 ? countLabels(detections.map((item) => item.label)) : 'no objects found',
    data: detections,
    artifacts: [artifact],
  };
}
