import type { InferenceRequest } from '../../../core/backend.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import type { LocalExpert } from '../expert.js';
import { CAPTIONING_HINT } from '../support/captioning-hint.js';
import { requireImage, throwIfAborted } from '../support/inputs.js';
import { recognizeText } from '../support/tesseract.js';

/** Below this mean confidence tesseract has mostly read texture as letters (a photo without text). */
export const TESSERACT_MIN_CONFIDENCE = 45;

export const tesseractOcr: LocalExpert = {
  id: 'tesseract-ocr',
  task: 'image-to-text',
  description:
    'OCR offline: reads printed English text in an image (pages, screenshots, signs, slides) with Tesseract 5 LSTM ' +
    '(tesseract.js, weights from @tesseract.js-data/eng), ~1 s per paragraph. Returns the text with line boxes and ' +
    'confidence. It does NOT describe or caption pictures: on a photo without text it returns nothing. Handwriting, ' +
    'stylised fonts, curved or very small text and other scripts read poorly.',
  sizeBytes: 2_952_873,
  tags: ['ocr', 'english', 'tesseract', 'printed-text'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const input = requireImage(request);
    throwIfAborted(request.signal);
    const result = await recognizeText(input.path, request.onProgress);
    throwIfAborted(request.signal);
    if (result.text === '' || result.confidence < TESSERACT_MIN_CONFIDENCE) {
      const name = inputName(input);
      return {
        text: `No printed text was found in ${name}. ${CAPTIONING_HINT}`,
        data: {
          text: '',
          reader: 'tesseract',
          reading: 'printed text (Tesseract)',
          confidence: result.confidence,
          lines: [],
          lowConfidenceText: result.text,
        },
        nothingFound: `no printed text was found in ${name}`,
      };
    }
    return {
      text: result.text,
      how: 'printed text read by Tesseract',
      data: { ...result, reader: 'tesseract', reading: 'printed text (Tesseract)' },
    };
  },
};
