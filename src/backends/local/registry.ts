import type { LocalExpert } from './expert.js';
import { compromiseNer } from './experts/compromise-ner.js';
import { fliteTts } from './experts/flite-tts.js';
import { fliteWasmTts } from './experts/flite-wasm-tts.js';
import { humanObjectDetection } from './experts/human-object-detection.js';
import { humanPose } from './experts/human-pose.js';
import { humanSegmentation } from './experts/human-segmentation.js';
import { moonshineAsr } from './experts/moonshine-asr.js';
import { ocrDocumentQa } from './experts/ocr-document-qa.js';
import { opencvCanny } from './experts/opencv-canny.js';
import { opencvLines } from './experts/opencv-lines.js';
import { paddleOcr } from './experts/paddle-ocr.js';
import { pocketsphinxAsr } from './experts/pocketsphinx-asr.js';
import { tesseractOcr } from './experts/tesseract-ocr.js';
import { winkSentiment } from './experts/wink-sentiment.js';

/** Every offline expert, one line each; the first expert of a task is its default. */
export const LOCAL_EXPERTS: readonly LocalExpert[] = [
  compromiseNer,
  winkSentiment,
  humanObjectDetection,
  humanPose,
  humanSegmentation,
  opencvCanny,
  opencvLines,
  paddleOcr,
  tesseractOcr,
  ocrDocumentQa,
  fliteTts,
  fliteWasmTts,
  moonshineAsr,
  pocketsphinxAsr,
];
