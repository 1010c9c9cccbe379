import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fixture, inferenceRequest, temporarySink } from '../../../../test/support/expert-requests.js';
import { pngDeclaring } from '../../../../test/support/hostile-media.js';
import { createLocalBackend } from '../index.js';
import { characterErrorRate } from '../support/character-error-rate.js';

const backend = createLocalBackend();
after(() => backend.close?.());

const picture = (...parts: string[]) => ({
  image: { path: fixture(...parts), mimeType: parts.at(-1)?.endsWith('.png') ? 'image/png' : 'image/jpeg' },
});

interface ReadData {
  text: string;
  reader: 'paddleocr' | 'tesseract';
  reading: string;
  confidence: number;
  lines: {
    text: string;
    confidence: number;
    box: { xmin: number; ymin: number; xmax: number; ymax: number };
  }[];
}

const truth = JSON.parse(readFileSync(fixture('ocr', 'truth.json'), 'utf8')) as {
  photos: Record<string, string>;
  pages: Record<string, string>;
};

describe('OCR on photos (paddle-ocr, the default image-to-text expert)', () => {
  test('a task cancelled while the OCR models load stops before reading', async () => {
    const controller = new AbortController();
    await assert.rejects(
      backend.infer(
        inferenceRequest('image-to-text', 'paddle-ocr', picture('ocr', 'sign-stop.jpg'), {
          signal: controller.signal,
          onProgress: (message) => {
            if (message.startsWith('loading PaddleOCR')) controller.abort();
          },
        }),
      ),
      { code: 'cancelled' },
    );
  });

  test('is the default reader of image-to-text, with tesseract still selectable by id', async () => {
    const cards = await backend.listModels('image-to-text');
    assert.deepEqual(
      cards.map((card) => card.id),
      ['paddle-ocr', 'tesseract-ocr'],
    );
  });

  test('reads the text on the rendered sign, label and screen photos with few character errors', async () => {
    let errors = 0;
    let characters = 0;
    for (const [file, reference] of Object.entries(truth.photos)) {
      const output = await backend.infer(inferenceRequest('image-to-text', 'paddle-ocr', picture(file)));
      const data = output.data as ReadData;
      assert.equal(data.reader, 'paddleocr');
      assert.match(data.reading, /^scene text \(\d+ lines? found and read by PaddleOCR\)$/);
      assert.equal(output.how, data.reading, 'the answer is told how the text was read');
      assert.equal(output.nothingFound, undefined);
      const cer = characterErrorRate(reference, output.text ?? '');
      // Measured (npm run bench:ocr): 0-7.1% per photo, 3.0% overall; tesseract read none of them.
      assert.ok(cer.rate <= 0.1, `${file}: CER ${cer.rate.toFixed(3)}, read ${JSON.stringify(output.text)}`);
      errors += cer.errors;
      characters += cer.characters;
    }
    assert.ok(errors / characters < 0.05, `overall CER ${(errors / characters).toFixed(3)}`);
  });

  test('reads the lines of a sign tilted 28 degrees in order, one line each', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', picture('ocr', 'sign-steep.jpg')),
    );
    assert.equal(output.text, 'Cat Cafe\nOpen 9-17');
    const lines = (output.data as ReadData).lines;
    // The second line's box starts further left and lower: read along the text, it still comes second.
    assert.ok((lines[1]?.box.xmin ?? 0) < (lines[0]?.box.xmin ?? 0), JSON.stringify(lines));
  });

  test('gives each line a box inside the image and a confidence', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', picture('ocr', 'screen-gate.jpg')),
    );
    const data = output.data as ReadData;
    assert.deepEqual(
      data.lines.map((line) => line.text),
      ['GATE B12', 'BOARDING 14:35'],
    );
    // The screen is drawn around (0.3, 0.22) of the 640 x 427 photo.
    for (const line of data.lines) {
      assert.ok(line.box.xmin >= 0 && line.box.xmax <= 640 && line.box.ymax <= 427, JSON.stringify(line.box));
      assert.ok(line.box.xmin < 192 && line.box.xmax > 192 && line.box.ymin < 140, JSON.stringify(line.box));
      assert.ok(line.confidence >= 80 && line.confidence <= 100, String(line.confidence));
    }
  });

  test('reads the photographed page.png with under 5% character errors', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', picture('images', 'page.png')),
    );
    const data = output.data as ReadData;
    assert.equal(data.reader, 'paddleocr');
    assert.match(output.text ?? '', /^Region-based segmentation\n/);
    const cer = characterErrorRate(truth.pages['images/page.png'] ?? '', output.text ?? '');
    // Measured: 2.7% (tesseract 14.4%).
    assert.ok(cer.rate < 0.05, `CER ${cer.rate.toFixed(3)}: ${output.text}`);
  });

  test('reads real text in a real photo: the sponsor on the football shirt in messi5.jpg', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', picture('images', 'messi5.jpg')),
    );
    assert.equal(output.text, 'unicef');
    assert.equal((output.data as ReadData).reader, 'paddleocr');
  });

  test('hands a clean page of print to tesseract and says so', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', picture('ocr', 'page-clean.png')),
    );
    const data = output.data as ReadData;
    assert.equal(data.reader, 'tesseract');
    assert.match(data.reading, /clean page of print, read by Tesseract/);
    const cer = characterErrorRate(truth.pages['ocr/page-clean.png'] ?? '', output.text ?? '');
    assert.ok(cer.rate < 0.01, `CER ${cer.rate.toFixed(3)}`);
  });

  test('a photo without text yields "nothing found" as data, and says what would describe it', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', picture('images', 'b.jpg')),
    );
    assert.equal(output.nothingFound, 'no printed text was found in b.jpg');
    assert.equal((output.data as ReadData).text, '');
    assert.deepEqual((output.data as ReadData).lines, []);
    assert.match(
      output.text ?? '',
      /^No printed text was found in b\.jpg: PaddleOCR looked for text anywhere/,
    );
    assert.match(output.text ?? '', /captioning model: .*Xenova\/vit-gpt2-image-captioning.*HF_TOKEN/);
  });

  test('uses the name the user gave the file, not the private copy', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'paddle-ocr', {
        image: { path: fixture('images', 'c.jpg'), mimeType: 'image/jpeg', name: 'zebras.jpg' },
      }),
    );
    assert.equal(output.nothingFound, 'no printed text was found in zebras.jpg');
  });

  test('a truncated photo is said to be truncated or damaged, by its name', async () => {
    const { dir } = temporarySink();
    const path = join(dir, 'broken.jpg');
    await writeFile(path, (await readFile(fixture('ocr', 'sign-stop.jpg'))).subarray(0, 12_000));
    await assert.rejects(
      backend.infer(
        inferenceRequest('image-to-text', 'paddle-ocr', { image: { path, mimeType: 'image/jpeg' } }),
      ),
      {
        code: 'input',
        message: /^broken\.jpg cannot be read as an image: the file is truncated or damaged \(/,
      },
    );
  });

  test('a file that is not an image fails as bad input, named', async () => {
    const { dir } = temporarySink();
    const path = join(dir, 'notes.png');
    await writeFile(path, 'these are not pixels\n');
    await assert.rejects(
      backend.infer(
        inferenceRequest('image-to-text', 'paddle-ocr', { image: { path, mimeType: 'image/png' } }),
      ),
      { code: 'input', message: /^notes\.png cannot be read as an image/ },
    );
  });

  test('an image over the pixel limit is refused from its header, naming the size and the limit', async () => {
    const { dir } = temporarySink();
    const path = join(dir, 'huge.png');
    await writeFile(path, pngDeclaring(16_000, 16_000));
    const started = performance.now();
    await assert.rejects(
      backend.infer(
        inferenceRequest('image-to-text', 'paddle-ocr', { image: { path, mimeType: 'image/png' } }),
      ),
      {
        code: 'input',
        message: /the image is 16000×16000 \(256\.0 megapixels\), over the limit of 40 megapixels/,
      },
    );
    assert.ok(performance.now() - started < 3_000, 'decided from the header');
  });
});
