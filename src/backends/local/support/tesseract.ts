import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import type { Worker } from 'tesseract.js';
import { InputError } from '../../../core/errors.js';
import { MAX_IMAGE_PIXELS } from '../../../core/media-limits.js';
import { loadSharp } from '../../../media/sharp.js';
import { unreadableFileMessage } from '../../../media/types.js';
import { readImageHeader } from './image.js';
import { lazyModel, serialQueue } from './lazy.js';

const require = createRequire(import.meta.url);

/**
 * English LSTM weights from @tesseract.js-data/eng (`best_int`, the model tesseract.js itself
 * downloads by default). Giving `langPath` keeps tesseract.js off its CDN; `cacheMethod: 'none'` keeps
 * it from writing eng.traineddata into the working directory.
 */
function englishDataPath(): string {
  const { langPath } = require('@tesseract.js-data/eng') as { langPath: string };
  return join(langPath, '..', '4.0.0_best_int');
}

interface OcrEngine {
  worker: Worker;
  /** The worker thread, unref'd while idle so that a loaded OCR model never keeps the process alive. */
  thread: ThreadWorker | undefined;
}

const engine = lazyModel(
  'tesseract English OCR model',
  async (): Promise<OcrEngine> => {
    // tesseract.js does not expose its worker thread; Node announces every new thread on `process`.
    const threads: ThreadWorker[] = [];
    const onThread = (thread: ThreadWorker) => threads.push(thread);
    process.on('worker', onThread);
    const { createWorker, OEM } = await import('tesseract.js');
    let worker: Worker;
    try {
      worker = await createWorker('eng', OEM.LSTM_ONLY, {
        langPath: englishDataPath(),
        gzip: true,
        cacheMethod: 'none',
      });
    } finally {
      process.off('worker', onThread);
    }
    await worker.setParameters({
      // Sauvola's local threshold copes with uneven lighting (photographed pages, vignetting).
      thresholding_method: '2',
      // Images often carry no or bogus DPI; tesseract then warns on stderr and guesses 70.
      user_defined_dpi: '300',
    } as Record<string, string>);
    const thread = threads.length === 1 ? threads[0] : undefined;
    thread?.unref();
    return { worker, thread };
  },
  async ({ worker }) => {
    await worker.terminate();
  },
);

// One tesseract worker: jobs queue rather than interleave (its API is one image at a time).
const queue = serialQueue();

export interface OcrLine {
  text: string;
  confidence: number;
  /** Pixel box in the original image. */
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
}

export interface OcrResult {
  text: string;
  /** Mean word confidence, 0..100, as tesseract reports it. */
  confidence: number;
  lines: OcrLine[];
}

/**
 * Grey, upscaled small images (tesseract wants ~30 px letters) and flattened lighting: each pixel is
 * divided by a heavily blurred copy of the image, which removes shadows and vignettes that a global
 * threshold would turn into black blobs.
 */
async function prepare(path: string): Promise<{ png: Buffer; scale: number }> {
  const sharp = await loadSharp();
  const meta = await readImageHeader(path);
  const swapped = (meta.orientation ?? 1) >= 5;
  const width = (swapped ? meta.height : meta.width) ?? 0;
  const height = (swapped ? meta.width : meta.height) ?? 0;
  const longest = Math.max(width, height);
  const scale = longest < 1600 ? 2 : longest > 5000 ? 0.5 : 1;
  const size = { width: Math.round(width * scale), height: Math.round(height * scale) };
  const grey = await sharp(path, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS })
    .rotate()
    .greyscale()
    .resize(size.width, size.height, { fit: 'fill', kernel: 'lanczos3' })
    .raw()
    .toBuffer()
    .catch((error: unknown) => {
      throw new InputError(unreadableFileMessage(path, 'image', error), { path });
    });
  const background = await sharp(grey, { raw: { ...size, channels: 1 } })
    .blur(Math.max(size.width, size.height) / 30)
    .raw()
    .toBuffer();
  const flat = Buffer.alloc(grey.length);
  for (let index = 0; index < grey.length; index += 1) {
    flat[index] = Math.min(
      255,
      Math.round((255 * (grey[index] ?? 0)) / Math.max(1, background[index] ?? 255)),
    );
  }
  const png = await sharp(flat, { raw: { ...size, channels: 1 } })
    .png()
    .toBuffer();
  return { png, scale };
}

interface TesseractLine {
  text: string;
  confidence: number;
  bbox: { x0: number; y0: number; x1: number; y1: number };
}

/** Reads the printed text of an image. */
export async function recognizeText(
  path: string,
  onProgress?: (message: string) => void,
): Promise<OcrResult> {
  const { png, scale } = await prepare(path);
  const { worker, thread } = await engine.get(onProgress);
  const result = await queue(async () => {
    thread?.ref();
    try {
      return await worker.recognize(png, {}, { text: true, blocks: true });
    } finally {
      thread?.unref();
    }
  });
  const lines: OcrLine[] = [];
  for (const block of result.data.blocks ?? []) {
    for (const paragraph of block.paragraphs) {
      for (const line of paragraph.lines as TesseractLine[]) {
        const text = line.text.trim();
        if (text === '') continue;
        lines.push({
          text,
          confidence: Math.round(line.confidence),
          box: {
            xmin: Math.round(line.bbox.x0 / scale),
            ymin: Math.round(line.bbox.y0 / scale),
            xmax: Math.round(line.bbox.x1 / scale),
            ymax: Math.round(line.bbox.y1 / scale),
          },
        });
      }
    }
  }
  return { text: result.data.text.trim(), confidence: Math.round(result.data.confidence), lines };
}
