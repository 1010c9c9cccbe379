// Writes test/fixtures/ocr/: the fixture photos with known text rendered onto them (signs, labels, screens, a
// caption straight on the picture) at several angles, sizes, colours and backgrounds, plus truth.json with the
// text of each, a clean rendered page (page-clean.png), and the text of the printed pages among the fixtures. Deterministic: no randomness; the same fonts (DejaVu, via librsvg/fontconfig) give the same
// images. Run: node --import tsx scripts/make-ocr-photos.ts
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { fixture } from '../test/support/fixtures.js';

interface Scene {
  /** Output file name under test/fixtures/ocr/. */
  name: string;
  /** Fixture photo under test/fixtures/images/. */
  photo: string;
  /** What the scene stands for, for the README. */
  kind: string;
  lines: string[];
  fontSize: number;
  font: 'DejaVu Sans' | 'DejaVu Serif' | 'DejaVu Sans Mono';
  bold: boolean;
  /** Text colour, and the panel behind it (none: the text is drawn straight on the photo, with an outline). */
  ink: string;
  panel?: { fill: string; stroke?: string; radius: number };
  /** Centre of the text block, as fractions of the photo's width and height. */
  at: [number, number];
  /** Rotation in degrees (clockwise), and an optional horizontal shear (a sign seen from the side). */
  angle: number;
  skew?: number;
  /** Gaussian blur sigma after drawing, for a softer, photographed look. */
  blur?: number;
}

const SCENES: Scene[] = [
  {
    name: 'sign-stop.jpg',
    photo: 'b.jpg',
    kind: 'road sign: white bold capitals on red, tilted',
    lines: ['STOP'],
    fontSize: 64,
    font: 'DejaVu Sans',
    bold: true,
    ink: '#ffffff',
    panel: { fill: '#c8102e', stroke: '#ffffff', radius: 10 },
    at: [0.22, 0.3],
    angle: -8,
    blur: 0.6,
  },
  {
    name: 'sign-street.jpg',
    photo: 'c.jpg',
    kind: 'street sign: white on green, two lines, steep angle',
    lines: ['Baker Street', 'NW1 6XE'],
    fontSize: 34,
    font: 'DejaVu Sans',
    bold: true,
    ink: '#ffffff',
    panel: { fill: '#0b6b3a', stroke: '#ffffff', radius: 8 },
    at: [0.7, 0.25],
    angle: 14,
    blur: 0.5,
  },
  {
    name: 'sign-entry.jpg',
    photo: 'horses.jpg',
    kind: 'warning sign: black on yellow, sheared as if seen from the side',
    lines: ['NO ENTRY', 'Private Road'],
    fontSize: 30,
    font: 'DejaVu Sans',
    bold: true,
    ink: '#111111',
    panel: { fill: '#f6c700', stroke: '#111111', radius: 6 },
    at: [0.3, 0.3],
    angle: 6,
    skew: -14,
    blur: 0.7,
  },
  {
    name: 'label-milk.jpg',
    photo: 'a.jpg',
    kind: 'product label: dark serif text on white, small, slightly tilted',
    lines: ['Organic Whole Milk', 'Best before 12 MAR 2027'],
    fontSize: 20,
    font: 'DejaVu Serif',
    bold: false,
    ink: '#1a1a40',
    panel: { fill: '#f4f1e8', radius: 4 },
    at: [0.3, 0.78],
    angle: -5,
    blur: 0.5,
  },
  {
    name: 'label-small.jpg',
    photo: 'f.jpg',
    kind: 'small label: 15 px text on pale blue, tilted 12 degrees',
    lines: ['Keep refrigerated', 'Store below 5 C'],
    fontSize: 15,
    font: 'DejaVu Sans',
    bold: false,
    ink: '#0a2540',
    panel: { fill: '#dcebf7', radius: 3 },
    at: [0.72, 0.8],
    angle: -12,
    blur: 0.4,
  },
  {
    name: 'screen-gate.jpg',
    photo: 'd.jpg',
    kind: 'departure screen: amber monospace on near-black',
    lines: ['GATE B12', 'BOARDING 14:35'],
    fontSize: 30,
    font: 'DejaVu Sans Mono',
    bold: true,
    ink: '#ffb000',
    panel: { fill: '#101418', stroke: '#444444', radius: 2 },
    at: [0.3, 0.22],
    angle: -3,
    blur: 0.6,
  },
  {
    name: 'screen-price.jpg',
    photo: 'giraffe.jpg',
    kind: 'till display: white monospace on blue',
    lines: ['TOTAL 24.99 EUR', 'Card accepted'],
    fontSize: 24,
    font: 'DejaVu Sans Mono',
    bold: false,
    ink: '#ffffff',
    panel: { fill: '#1f4fa0', radius: 4 },
    at: [0.5, 0.88],
    angle: 2,
    blur: 0.5,
  },
  {
    name: 'sign-steep.jpg',
    photo: 'a.jpg',
    kind: 'shop sign: cream on dark brown, tilted 28 degrees',
    lines: ['Cat Cafe', 'Open 9-17'],
    fontSize: 28,
    font: 'DejaVu Serif',
    bold: true,
    ink: '#f3e6c8',
    panel: { fill: '#4a2c17', radius: 6 },
    at: [0.25, 0.3],
    angle: 28,
    blur: 0.5,
  },
  {
    name: 'label-faint.jpg',
    photo: 'horses.jpg',
    kind: 'faint label: mid-grey text on light grey, low contrast',
    lines: ['Batch 4471-B', 'Packed 03/11'],
    fontSize: 18,
    font: 'DejaVu Sans',
    bold: false,
    ink: '#8a8a8a',
    panel: { fill: '#d6d6d6', radius: 3 },
    at: [0.75, 0.2],
    angle: -6,
    blur: 0.6,
  },
  {
    name: 'caption-photo.jpg',
    photo: 'e.jpg',
    kind: 'caption straight on the photo: white with a dark outline, no panel',
    lines: ['Final Match Tonight'],
    fontSize: 36,
    font: 'DejaVu Sans',
    bold: true,
    ink: '#ffffff',
    at: [0.5, 0.14],
    angle: -4,
    blur: 0.5,
  },
];

/** The printed pages among the fixtures, transcribed by eye (page.png's cut-off last line left out). */
const PAGES: Record<string, string> = {
  'images/page.png': [
    'Region-based segmentation',
    'Let us first determine markers of the coins and the',
    'background. These markers are pixels that we can label',
    'unambiguously as either object or background. Here,',
    'the markers are found at the two extreme parts of the',
    'histogram of grey values:',
    '>>> markers = np.zeros_like(coins)',
  ].join('\n'),
  'images/text-paragraph.png': [
    'technical details are too complex to cover in the book itself.',
    'In teaching our courses, we have found it useful for the students to attempt a number of',
    'small implementation projects, which often build on one another, in order to get them used to',
    'working with real-world images and the challenges that these present. The students are then',
    'asked to choose an individual topic for each of their small-group, final projects. (Sometimes',
    'these projects even turn into conference papers!) The exercises at the end of each chapter',
    'contain numerous suggestions for smaller mid-term projects, as well as more open-ended',
    'problems whose solutions are still active research topics. Wherever possible, I encourage',
    'students to try their algorithms on their own personal photographs, since this better motivates',
    'them, often leads to creative variants on the problems, and better acquaints them with the',
    'variety and complexity of real-world imagery.',
    'In formulating and solving computer vision problems, I have often found it useful to draw',
    'inspiration from three high-level approaches:',
  ].join('\n'),
};

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** An SVG the size of the photo with the scene's text block drawn on it. */
function overlay(scene: Scene, width: number, height: number): string {
  const lineHeight = Math.round(scene.fontSize * 1.25);
  // A generous width estimate of the longest line (DejaVu advances are at most ~0.7 em for these texts).
  const advance = scene.font === 'DejaVu Sans Mono' ? 0.62 : scene.bold ? 0.7 : 0.6;
  const textWidth = Math.max(...scene.lines.map((line) => line.length)) * scene.fontSize * advance;
  const padX = scene.fontSize * 0.6;
  const padY = scene.fontSize * 0.45;
  const boxWidth = textWidth + 2 * padX;
  const boxHeight = scene.lines.length * lineHeight + 2 * padY;
  const cx = scene.at[0] * width;
  const cy = scene.at[1] * height;
  const transform = `translate(${cx} ${cy}) rotate(${scene.angle})${scene.skew ? ` skewX(${scene.skew})` : ''}`;
  const panel = scene.panel
    ? `<rect x="${-boxWidth / 2}" y="${-boxHeight / 2}" width="${boxWidth}" height="${boxHeight}" rx="${scene.panel.radius}" fill="${scene.panel.fill}"${scene.panel.stroke ? ` stroke="${scene.panel.stroke}" stroke-width="3"` : ''}/>`
    : '';
  const outline = scene.panel ? '' : ' stroke="#000000" stroke-width="2" paint-order="stroke"';
  const texts = scene.lines
    .map((line, index) => {
      // Baseline of each line: the block is centred vertically, letters sit ~0.35 em below their line's middle.
      const y = -boxHeight / 2 + padY + index * lineHeight + lineHeight / 2 + scene.fontSize * 0.35;
      return `<text x="0" y="${y}" text-anchor="middle" font-family="${scene.font}" font-size="${scene.fontSize}" font-weight="${scene.bold ? 'bold' : 'normal'}" fill="${scene.ink}"${outline}>${escapeXml(line)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><g transform="${transform}">${panel}${texts}</g></svg>`;
}

/** A clean rendered page (a scan or screenshot of print): black serif text on white, 18 lines. */
const CLEAN_PAGE = [
  'Jarvis reads the text of an image in two ways. A photo of a street',
  'sign, a label on a bottle or a screen in a station is read by a text',
  'detector that finds each line at any angle and on any background, and',
  'a recogniser that reads the lines it found. A page of clean print, such',
  'as a scanned letter, a screenshot of a document or a printed report, is',
  'read by Tesseract, which was built for pages and reads them quickly and',
  'well. The choice is made by looking at the image before reading it:',
  'a page is mostly white paper with dark ink and almost no colour.',
  'Both readers run offline, with their models installed from npm, and',
  'neither describes a picture: a photo without text gives no text.',
  'Describing what a photo shows is the work of a captioning model, which',
  'the planner can choose when one is installed or can be downloaded.',
  'The error rates of both readers on these pages and on the photos are',
  'measured by the OCR benchmark, which prints them side by side with',
  'the time each reader takes for each image, so that the choice between',
  'them can be checked again whenever a model or a rule is changed.',
  'Numbers such as 12.5 per cent, 2027-03-12 and 14:35 are read as well.',
  'End of the page.',
];

async function writeCleanPage(path: string): Promise<void> {
  const lineHeight = 24;
  const width = 640;
  const height = CLEAN_PAGE.length * lineHeight + 40;
  const texts = CLEAN_PAGE.map(
    (line, index) =>
      `<text x="24" y="${32 + index * lineHeight}" font-family="DejaVu Serif" font-size="16" fill="#000000">${escapeXml(line)}</text>`,
  ).join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}"><rect width="100%" height="100%" fill="#ffffff"/>${texts}</svg>`;
  await sharp(Buffer.from(svg))
    .greyscale()
    .png({ compressionLevel: 9, palette: true, colours: 16 })
    .toFile(path);
}

async function main(): Promise<void> {
  const folder = fixture('ocr');
  await mkdir(folder, { recursive: true });
  const photos: Record<string, string> = {};
  for (const scene of SCENES) {
    const photo = sharp(fixture('images', scene.photo));
    const { width = 0, height = 0 } = await photo.metadata();
    const drawn = await photo
      .composite([{ input: Buffer.from(overlay(scene, width, height)), left: 0, top: 0 }])
      .toBuffer();
    let image = sharp(drawn).resize({ width: 640, withoutEnlargement: true });
    if (scene.blur) image = image.blur(scene.blur);
    const jpeg = await image.jpeg({ quality: 72, mozjpeg: true }).toBuffer();
    await writeFile(join(folder, scene.name), jpeg);
    photos[`ocr/${scene.name}`] = scene.lines.join('\n');
    console.log(`${scene.name}: ${(jpeg.length / 1024).toFixed(0)} KB, ${scene.kind}`);
  }
  await writeCleanPage(join(folder, 'page-clean.png'));
  const pages = { ...PAGES, 'ocr/page-clean.png': CLEAN_PAGE.join('\n') };
  // Paths relative to test/fixtures/: the photos made here, then the printed pages already among the fixtures.
  await writeFile(join(folder, 'truth.json'), `${JSON.stringify({ photos, pages }, null, 2)}\n`);
}

await main();
