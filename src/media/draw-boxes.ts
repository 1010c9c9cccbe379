/**
 * Detections drawn on their image, once for every backend: a box per object in its class's colour and a
 * caption that stays inside the picture and off the other captions (above the box where there is room, else
 * below it, else inside it, moved down until it is clear), sized with the image.
 */
import { MAX_IMAGE_PIXELS } from '../core/media-limits.js';

export interface LabelledBox {
  label: string;
  score: number;
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
}

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
  '#469990',
];

/** Black on light colours, white on dark ones (relative luminance), so a caption reads on any of them. */
function textColourOn(hex: string): string {
  const [r, g, b] = [1, 3, 5].map((start) => Number.parseInt(hex.slice(start, start + 2), 16) / 255) as [
    number,
    number,
    number,
  ];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.55 ? '#000000' : '#ffffff';
}

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

const overlaps = (a: Rect, b: Rect) =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** Where each caption goes: inside the image, over no earlier caption where the image leaves room for it. */
export function captionPlaces(
  width: number,
  height: number,
  boxes: readonly { box: LabelledBox['box']; caption: string }[],
  fontSize: number,
): Rect[] {
  const captionHeight = Math.round(fontSize * 1.3);
  const placed: Rect[] = [];
  for (const { box, caption } of boxes) {
    const captionWidth = Math.min(width, Math.round(caption.length * fontSize * 0.6 + fontSize * 0.5));
    const x = Math.max(0, Math.min(box.xmin, width - captionWidth));
    const clampY = (y: number) => Math.max(0, Math.min(y, height - captionHeight));
    const candidates = [box.ymin - captionHeight, box.ymax, box.ymin, box.ymax - captionHeight]
      .filter((y) => y >= 0 && y + captionHeight <= height)
      .map(clampY);
    let chosen: Rect | undefined;
    for (const y of candidates.length > 0 ? candidates : [clampY(box.ymin)]) {
      const rect = { x, y, width: captionWidth, height: captionHeight };
      if (!placed.some((other) => overlaps(rect, other))) {
        chosen = rect;
        break;
      }
    }
    // Every natural place is taken: step down from the box's top until the caption is clear (or the image ends).
    if (!chosen) {
      let y = clampY(box.ymin);
      const rect = () => ({ x, y, width: captionWidth, height: captionHeight });
      for (let step = 0; step < 50 && placed.some((other) => overlaps(rect(), other)); step++) {
        const next = y + captionHeight;
        if (next + captionHeight > height) break;
        y = next;
      }
      chosen = rect();
    }
    placed.push(chosen);
  }
  return placed;
}

/** An SVG the size of the image with a labelled rectangle per detection, to composite over it. */
export function boxesOverlay(width: number, height: number, detections: readonly LabelledBox[]): string {
  const labels = [...new Set(detections.map((detection) => detection.label))];
  // Line and text sizes follow the image size so that they stay readable on small and large photos alike.
  const short = Math.min(width, height);
  const stroke = Math.max(2, Math.round(short / 250));
  const fontSize = Math.max(11, Math.round(short / 32));
  const clamped = detections.map((detection) => ({
    ...detection,
    box: {
      xmin: Math.max(0, Math.min(width, detection.box.xmin)),
      ymin: Math.max(0, Math.min(height, detection.box.ymin)),
      xmax: Math.max(0, Math.min(width, detection.box.xmax)),
      ymax: Math.max(0, Math.min(height, detection.box.ymax)),
    },
    caption: `${detection.label} ${Math.round(detection.score * 100)}%`,
  }));
  const places = captionPlaces(width, height, clamped, fontSize);
  const boxes = clamped.map(({ label, box }) => {
    const colour = PALETTE[labels.indexOf(label) % PALETTE.length]!;
    const rect = `x="${box.xmin}" y="${box.ymin}" width="${Math.max(1, box.xmax - box.xmin)}" height="${Math.max(1, box.ymax - box.ymin)}" fill="none"`;
    // A dark edge under the colour keeps the box visible on light and dark photos alike.
    return `<rect ${rect} stroke="#000000" stroke-opacity="0.6" stroke-width="${stroke + 2}"/><rect ${rect} stroke="${colour}" stroke-width="${stroke}"/>`;
  });
  const captions = clamped.map(({ label, caption }, index) => {
    const colour = PALETTE[labels.indexOf(label) % PALETTE.length]!;
    const place = places[index]!;
    return (
      `<rect x="${place.x}" y="${place.y}" width="${place.width}" height="${place.height}" fill="${colour}" fill-opacity="0.9"/>` +
      `<text x="${place.x + fontSize * 0.25}" y="${place.y + fontSize}" font-family="DejaVu Sans, sans-serif" ` +
      `font-size="${fontSize}" fill="${textColourOn(colour)}">${escapeXml(caption)}</text>`
    );
  });
  // Boxes first, captions over every box: a caption is never hidden by a neighbour's frame.
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">${boxes.join('')}${captions.join('')}</svg>`;
}

/** The image at `imagePath`, upright, with the detections drawn, as a fast PNG. */
export async function drawBoxes(imagePath: string, detections: readonly LabelledBox[]): Promise<Uint8Array> {
  // Loaded on first use: sharp's native binding costs start-up time that runs without images should not pay.
  const { default: sharp } = await import('sharp');
  // The limit makes sharp refuse, rather than decode, an image over it that reached this far.
  const { data, info } = await sharp(imagePath, { limitInputPixels: MAX_IMAGE_PIXELS })
    .rotate()
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const overlay = boxesOverlay(info.width, info.height, detections);
  return new Uint8Array(
    await sharp(data, { raw: { width: info.width, height: info.height, channels: 3 } })
      .composite([{ input: Buffer.from(overlay), top: 0, left: 0 }])
      .png({ compressionLevel: 1, adaptiveFiltering: false })
      .toBuffer(),
  );
}
