import type { InferenceRequest } from '../../../core/backend.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import type { LocalExpert } from '../expert.js';
import { CAPTIONING_HINT } from '../support/captioning-hint.js';
import { requireImage, throwIfAborted } from '../support/inputs.js';
import { isCleanPage, measurePageLikeness, recognizeScene } from '../support/paddle-ocr.js';
import { recognizeText } from '../support/tesseract.js';
import { TESSERACT_MIN_CONFIDENCE } from './tesseract-ocr.js';

export const paddleOcr: LocalExpert = {
  id: 'paddle-ocr',
  task: 'image-to-text',
  description:
    'OCR offline for photos and pages: PaddleOCR (PP-OCRv4 text detector + recogniser, ONNX, from npm) finds text ' +
    'anywhere in the image, at an angle, on any background (signs, labels, screens, captions, slides) and reads ' +
    'it line by line; a clean page of print (white paper, black ink) goes to Tesseract, as exact there and faster. Returns ' +
    'the text with line boxes, confidences and which reader ran. It does NOT describe or caption pictures: on a ' +
    'photo without text it returns nothing. Latin and Chinese print; handwriting reads poorly.',
  sizeBytes: 16_200_000,
  tags: ['ocr', 'scene-text', 'paddleocr', 'onnx', 'printed-text'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const input = requireImage(request);
    throwIfAborted(request.signal);
    const name = inputName(input);
    // A clean page of print goes to Tesseract first: as exact as PaddleOCR there and ~3x faster (bench:ocr).
    const likeness = await measurePageLikeness(input.path);
    if (isCleanPage(likeness)) {
      throwIfAborted(request.signal);
      const page = await recognizeText(input.path, request.onProgress);
      throwIfAborted(request.signal);
      if (page.text !== '' && page.confidence >= TESSERACT_MIN_CONFIDENCE) {
        const reading = 'printed page (a clean page of print, read by Tesseract)';
        return { text: page.text, how: reading, data: { ...page, reader: 'tesseract', reading } };
      }
    }
    throwIfAborted(request.signal);
    const scene = await recognizeScene(input.path, request.signal, request.onProgress);
    throwIfAborted(request.signal);
    if (scene.text === '') {
      return {
        text: `No printed text was found in ${name}: PaddleOCR looked for text anywhere in the picture and found none. ${CAPTIONING_HINT}`,
        data: {
          text: '',
          reader: 'paddleocr',
          reading: 'scene text (PaddleOCR text detector + recogniser)',
          confidence: scene.confidence,
          lines: [],
          detectedLines: scene.detectedLines,
        },
        nothingFound: `no printed text was found in ${name}`,
      };
    }
    const reading = `scene text (${scene.lines.length} line${scene.lines.length === 1 ? '' : 's'} found and read by PaddleOCR)`;
    return {
      text: scene.text,
      how: reading,
      data: {
        text: scene.text,
        reader: 'paddleocr',
        reading,
        confidence: scene.confidence,
        lines: scene.lines,
        detectedLines: scene.detectedLines,
      },
    };
  },
};
