import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testController } from '../../../../test/support/controller.js';
import { fixture, inferenceRequest } from '../../../../test/support/expert-requests.js';
import { promptText, startOpenAITestServer } from '../../../../test/support/openai-server.js';
import { createLocalBackend } from '../index.js';

const backend = createLocalBackend();
after(() => backend.close?.());

const image = (name: string) => ({ image: { path: fixture('images', name), mimeType: 'image/png' } });

interface OcrData {
  text: string;
  confidence: number;
  lines: { text: string; box: { xmin: number; ymin: number; xmax: number; ymax: number } }[];
}

describe('OCR (tesseract-ocr)', () => {
  test('reads the title and paragraph of page.png despite its uneven lighting', async () => {
    const progress: string[] = [];
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'tesseract-ocr', image('page.png'), {
        onProgress: (message) => progress.push(message),
      }),
    );
    assert.match(output.text ?? '', /Region-based segmentation/);
    assert.match(output.text ?? '', /markers are pixels that we can label/);
    assert.ok(
      progress.some((message) => message.startsWith('loading tesseract')),
      progress.join(' | '),
    );
    const data = output.data as OcrData;
    const title = data.lines.find((line) => line.text.includes('Region-based'));
    // The title is the first line, in the top quarter of the 384 x 192 page.
    assert.ok(title && title.box.ymin < 48 && title.box.xmax <= 384, JSON.stringify(title));
  });

  test('reads a 14-line printed paragraph nearly word for word', async () => {
    const output = await backend.infer(
      inferenceRequest('image-to-text', 'tesseract-ocr', image('text-paragraph.png')),
    );
    const text = output.text ?? '';
    assert.ok(
      text.startsWith('technical details are too complex to cover in the book itself.'),
      text.slice(0, 80),
    );
    for (const phrase of ['small implementation projects', 'conference papers', 'active research topics']) {
      assert.ok(text.includes(phrase), `missing "${phrase}"`);
    }
  });

  test('two pages read at the same time each get their own text', async () => {
    const [page, paragraph] = await Promise.all([
      backend.infer(inferenceRequest('image-to-text', 'tesseract-ocr', image('page.png'))),
      backend.infer(inferenceRequest('image-to-text', 'tesseract-ocr', image('text-paragraph.png'))),
    ]);
    assert.match(page.text ?? '', /^Region-based segmentation/);
    assert.match(paragraph.text ?? '', /^technical details are too complex/);
  });

  test('a photo without text yields "nothing found" as data rather than noise', async () => {
    const output = await backend.infer(inferenceRequest('image-to-text', 'tesseract-ocr', image('b.jpg')));
    assert.match(output.text ?? '', /^No printed text was found in b\.jpg\. Describing what a picture shows/);
    assert.equal((output.data as OcrData & { reader: string }).reader, 'tesseract');
    assert.equal(output.nothingFound, 'no printed text was found in b.jpg');
  });
});

describe('document question answering (tesseract-ocr-llm)', () => {
  test('is listed as unavailable with the reason when no controller LLM is configured', async () => {
    const [card] = await backend.listModels('document-question-answering');
    assert.equal(card?.available, false);
    assert.match(card?.reason ?? '', /controller LLM/);
    await assert.rejects(
      backend.infer(
        inferenceRequest('document-question-answering', 'tesseract-ocr-llm', {
          ...image('page.png'),
          text: 'title?',
        }),
      ),
      { code: 'model-unavailable', message: /controller LLM/ },
    );
  });

  test('OCRs the page and has the controller answer from its text', async () => {
    const server = await startOpenAITestServer();
    try {
      server.rule((body) =>
        promptText(body).includes('Region-based segmentation')
          ? 'The title is "Region-based segmentation".'
          : 'unknown',
      );
      const controller = testController(server, { timeoutMs: 30_000, structuredOutputs: false });
      const withLlm = createLocalBackend({ controller });
      const [card] = await withLlm.listModels('document-question-answering');
      assert.equal(card?.available, true);
      const output = await withLlm.infer(
        inferenceRequest('document-question-answering', 'tesseract-ocr-llm', {
          ...image('page.png'),
          text: 'What is the title of this page?',
        }),
      );
      assert.equal(output.text, 'The title is "Region-based segmentation".');
      const prompt = promptText(server.requests[0]!);
      assert.match(prompt, /What is the title of this page\?/);
      assert.match(prompt, /first determine markers of the coins/);
    } finally {
      await server.close();
    }
  });
});
