import type { InferenceRequest } from '../../../core/backend.js';
import { ModelUnavailableError } from '../../../core/errors.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import type { ExpertContext, LocalExpert } from '../expert.js';
import { requireImage, requireText, throwIfAborted } from '../support/inputs.js';
import { recognizeText } from '../support/tesseract.js';

const NO_CONTROLLER =
  'needs the controller LLM to read the OCR text: configure one (JARVIS_LLM_BASE_URL and JARVIS_LLM_MODEL, or a local model)';

// Long documents are cut so the prompt stays well inside small context windows.
const MAX_DOCUMENT_CHARS = 12_000;

export const ocrDocumentQa: LocalExpert = {
  id: 'tesseract-ocr-llm',
  task: 'document-question-answering',
  description:
    'Document question answering in two steps: Tesseract OCR reads the printed English text of the image offline, ' +
    'then the controller LLM answers the question from that text alone. Good for pages, receipts, forms and slides ' +
    'with clear print; it does not see layout, tables, charts or pictures, only the recognised text, so questions ' +
    'about those fail, and OCR errors carry into the answer.',
  sizeBytes: 2_952_873,
  tags: ['ocr', 'tesseract', 'llm', 'document'],
  mainThread:
    "it asks the controller LLM (an object of the main thread); its OCR already runs in tesseract.js's own " +
    'worker thread and the LLM call is I/O, so the main event loop only waits',
  async checkAvailable(context: ExpertContext) {
    return context.controller ? undefined : NO_CONTROLLER;
  },
  async run(request: InferenceRequest, context: ExpertContext): Promise<TaskOutput> {
    // The run's own view of the controller when it gives one: the call then counts in the run's usage.
    const controller = request.controller ?? context.controller;
    if (!controller) throw new ModelUnavailableError(`tesseract-ocr-llm ${NO_CONTROLLER}`);
    const input = requireImage(request);
    const question = requireText(request);
    const ocr = await recognizeText(input.path, request.onProgress);
    throwIfAborted(request.signal);
    if (ocr.text === '') {
      const name = inputName(input);
      return {
        text: `No printed text was found in ${name}, so the question cannot be answered from it.`,
        data: { answer: null, question, ocrText: '', ocrConfidence: ocr.confidence },
        nothingFound: `no printed text was found in ${name}`,
      };
    }
    const documentText =
      ocr.text.length > MAX_DOCUMENT_CHARS ? `${ocr.text.slice(0, MAX_DOCUMENT_CHARS)} [...]` : ocr.text;
    const reply = await controller.chat({
      stage: 'execute',
      signal: request.signal,
      temperature: 0,
      maxOutputTokens: 400,
      messages: [
        {
          role: 'system',
          content:
            'You answer questions about a document from its OCR text. Use only the text given; it may contain OCR ' +
            'errors. Answer briefly. If the text does not contain the answer, say that the document does not say.',
        },
        { role: 'user', content: `Document text (OCR):\n"""\n${documentText}\n"""\n\nQuestion: ${question}` },
      ],
    });
    const answer = reply.text.trim();
    return { text: answer, data: { answer, question, ocrText: ocr.text, ocrConfidence: ocr.confidence } };
  },
};
