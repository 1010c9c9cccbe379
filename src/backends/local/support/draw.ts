import { escapeXml } from './image.js';

/** Distinct colours for labels, so two classes in one picture are told apart at a glance. */
const PALETTE = [
  '#e6194b',
  '#3cb44b',
  '#4363d8',
  '#f58231',
  '#911eb4',
  '#42d4f4',
  '#f032e6',
  '#bfef45',
  '#ffe119',
];

export function colourFor(label: string, labels: string[]): string {
  const index = labels.indexOf(label);
  return PALETTE[(index < 0 ? 0 : index) % PALETTE.length] ?? '#e6194b';
}

export interface LabelledBox {
  label: string;
  score: number;
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
}

/** An SVG the size of the image with a labelled rectangle per detection, to composite over it. */
export function boxesOverlay(width: number, height: number, detections: LabelledBox[]): string {
  const labels = [...new Set(detections.map((detection) => detection.label))];
  // Line and text sizes follow the image size so that they stay readable on large photos.
  const stroke = Math.max(2, Math.round(Math.min(width, height) / 200));
  const fontSize = Math.max(12, Math.round(Math.min(width, height) / 30));
  const parts = detections.map(({ label, score, box }) => {
    const colour = colourFor(label, labels);
    const caption = `${label} ${Math.round(score * 100)}%`;
    const captionWidth = Math.round(caption.length * fontSize * 0.6 + fontSize * 0.4);
    const captionY = box.ymin - fontSize * 1.3 >= 0 ? box.ymin - fontSize * 1.3 : box.ymin;
    return [
      `<rect x="${box.xmin}" y="${box.ymin}" width="${box.xmax - box.xmin}" height="${box.ymax - box.ymin}"`,
      ` fill="none" stroke="${colour}" stroke-width="${stroke}"/>`,
      `<rect x="${box.xmin}" y="${captionY}" width="${captionWidth}" height="${fontSize * 1.3}" fill="${colour}"/>`,
      `<text x="${box.xmin + fontSize * 0.2}" y="${captionY + fontSize}" font-family="DejaVu Sans, sans-serif"`,
      ` font-size="${fontSize}" fill="#ffffff">${escapeXml(caption)}</text>`,
    ].join('');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${parts.join('')}</svg>`;
}
