/**
 * Detections drawn on their image, once for every backend: a box per object in its class's colour and a
 * caption that stays inside the picture and off the other captions (above the box where there is room, else
 * below it, else inside it, moved down until it is clear), sized with the image.
 */
import { MAX_IMAGE_PIXELS } from '../core/media-limits.js';
import { loadSharp } from './sharp.js';

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

/** Sizes of lines and captions for an image: they follow its size, to stay readable on small and large photos. */
function sizesFor(width: number, height: number): { stroke: number; fontSize: number } {
  const short = Math.min(width, height);
  return { stroke: Math.max(2, Math.round(short / 250)), fontSize: Math.max(11, Math.round(short / 32)) };
}

interface Layout {
  stroke: number;
  fontSize: number;
  boxes: { box: LabelledBox['box']; caption: string; colour: string; place: Rect }[];
}

/** Where every box, colour and caption goes on an image of this size. */
function layout(width: number, height: number, detections: readonly LabelledBox[]): Layout {
  const labels = [...new Set(detections.map((detection) => detection.label))];
  const { stroke, fontSize } = sizesFor(width, height);
  const clamped = detections.map((detection) => ({
    box: {
      xmin: Math.max(0, Math.min(width, Math.round(detection.box.xmin))),
      ymin: Math.max(0, Math.min(height, Math.round(detection.box.ymin))),
      xmax: Math.max(0, Math.min(width, Math.round(detection.box.xmax))),
      ymax: Math.max(0, Math.min(height, Math.round(detection.box.ymax))),
    },
    caption: `${detection.label} ${Math.round(detection.score * 100)}%`,
    colour: PALETTE[labels.indexOf(detection.label) % PALETTE.length] as string,
  }));
  const places = captionPlaces(width, height, clamped, fontSize);
  return {
    stroke,
    fontSize,
    boxes: clamped.map((entry, index) => ({ ...entry, place: places[index] as Rect })),
  };
}

/** A caption's SVG: its coloured label and text, with its top left corner at (x, y). */
function captionSvg(
  x: number,
  y: number,
  width: number,
  height: number,
  caption: string,
  colour: string,
  fontSize: number,
) {
  return (
    `<rect x="${x}" y="${y}" width="${width}" height="${height}" fill="${colour}" fill-opacity="0.9"/>` +
    `<text x="${x + fontSize * 0.25}" y="${y + fontSize}" font-family="DejaVu Sans, sans-serif" ` +
    `font-size="${fontSize}" fill="${textColourOn(colour)}">${escapeXml(caption)}</text>`
  );
}

/** RGB pixels, row by row, three bytes each. */
export interface RgbImage {
  pixels: Uint8Array;
  width: number;
  height: number;
}

const rgbOf = (hex: string): [number, number, number] => [
  Number.parseInt(hex.slice(1, 3), 16),
  Number.parseInt(hex.slice(3, 5), 16),
  Number.parseInt(hex.slice(5, 7), 16),
];

/** Blends a colour over the pixels of [x0, x1) x [y0, y1), clipped to the image. */
function fill(
  image: RgbImage,
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  colour: string,
  alpha: number,
) {
  const [r, g, b] = rgbOf(colour);
  const left = Math.max(0, Math.round(x0));
  const right = Math.min(image.width, Math.round(x1));
  const top = Math.max(0, Math.round(y0));
  const bottom = Math.min(image.height, Math.round(y1));
  const keep = 1 - alpha;
  const { pixels, width } = image;
  for (let y = top; y < bottom; y++) {
    for (let offset = (y * width + left) * 3, end = (y * width + right) * 3; offset < end; offset += 3) {
      pixels[offset] = r * alpha + (pixels[offset] as number) * keep;
      pixels[offset + 1] = g * alpha + (pixels[offset + 1] as number) * keep;
      pixels[offset + 2] = b * alpha + (pixels[offset + 2] as number) * keep;
    }
  }
}

/** A rectangle's outline `weight` pixels wide, centred on its edges as SVG strokes are, each pixel once. */
function frame(image: RgbImage, box: LabelledBox['box'], weight: number, colour: string, alpha: number) {
  const half = weight / 2;
  const [outerLeft, outerTop, outerRight, outerBottom] = [
    box.xmin - half,
    box.ymin - half,
    box.xmax + half,
    box.ymax + half,
  ];
  const [innerTop, innerBottom] = [box.ymin + half, box.ymax - half];
  fill(image, outerLeft, outerTop, outerRight, Math.min(innerTop, outerBottom), colour, alpha);
  if (innerBottom > innerTop) {
    fill(image, outerLeft, innerTop, Math.min(box.xmin + half, outerRight), innerBottom, colour, alpha);
    fill(image, Math.max(box.xmax - half, box.xmin + half), innerTop, outerRight, innerBottom, colour, alpha);
  }
  fill(image, outerLeft, Math.max(innerBottom, innerTop), outerRight, outerBottom, colour, alpha);
}

/**
 * Draws the detections onto the image's own pixels (which it changes): the frames straight into the pixels,
 * the captions rendered once, all of them in one small SVG strip, and blended in where they go. Compositing
 * an SVG the size of the image cost ~15 ms per photo, as much as the PNG encoding.
 */
export async function drawOnPixels(image: RgbImage, detections: readonly LabelledBox[]): Promise<void> {
  if (detections.length === 0) return;
  const { stroke, fontSize, boxes } = layout(image.width, image.height, detections);
  for (const { box, colour } of boxes) {
    // A dark edge under the colour keeps the box visible on light and dark photos alike.
    frame(image, box, stroke + 2, '#000000', 0.6);
    frame(image, box, stroke, colour, 1);
  }
  // Captions over every frame: a caption is never hidden by a neighbour's frame.
  const rowHeight = Math.max(...boxes.map(({ place }) => place.height));
  const stripWidth = Math.max(...boxes.map(({ place }) => place.width));
  const rows = boxes.map(({ caption, colour, place }, index) =>
    captionSvg(0, index * rowHeight, place.width, place.height, caption, colour, fontSize),
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${stripWidth}" height="${rowHeight * boxes.length}">${rows.join('')}</svg>`;
  const sharp = await loadSharp();
  const { data: strip, info } = await sharp(Buffer.from(svg))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const { pixels, width } = image;
  for (const [index, { place }] of boxes.entries()) {
    for (let row = 0; row < place.height; row++) {
      const y = place.y + row;
      if (y < 0 || y >= image.height) continue;
      let from = (index * rowHeight + row) * info.width * 4;
      let to = (y * width + place.x) * 3;
      for (let column = 0; column < place.width && place.x + column < width; column++, from += 4, to += 3) {
        const alpha = (strip[from + 3] as number) / 255;
        if (alpha === 0) continue;
        const keep = 1 - alpha;
        pixels[to] = (strip[from] as number) * alpha + (pixels[to] as number) * keep;
        pixels[to + 1] = (strip[from + 1] as number) * alpha + (pixels[to + 1] as number) * keep;
        pixels[to + 2] = (strip[from + 2] as number) * alpha + (pixels[to + 2] as number) * keep;
      }
    }
  }
}

/**
 * An annotated photo as a JPEG (quality 90, full-resolution colour so that the thin coloured frames and
 * captions stay crisp). PNG does not suit photos: b.jpg at 1024 x 683 is ~2 MB as PNG whether zlib works
 * (level 1: ~30 ms) or not (level 0: ~3 ms), and ~180 KB as this JPEG in ~13 ms; the web UI, API replies
 * and MCP clients (base64) all carry the file.
 */
export async function encodeAnnotated(image: RgbImage): Promise<Uint8Array> {
  const sharp = await loadSharp();
  const jpeg = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .jpeg({ quality: 90, chromaSubsampling: '4:4:4' })
    .toBuffer();
  return new Uint8Array(jpeg.buffer, jpeg.byteOffset, jpeg.byteLength);
}

/** The image at `imagePath`, upright, at its own size, with the detections drawn, as a JPEG. */
export async function drawBoxes(imagePath: string, detections: readonly LabelledBox[]): Promise<Uint8Array> {
  const sharp = await loadSharp();
  // The limit makes sharp refuse, rather than decode, an image over it that reached this far.
  const { data, info } = await sharp(imagePath, { limitInputPixels: MAX_IMAGE_PIXELS })
    .rotate()
    .removeAlpha()
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true });
  const image = {
    pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
  };
  await drawOnPixels(image, detections);
  return encodeAnnotated(image);
}
