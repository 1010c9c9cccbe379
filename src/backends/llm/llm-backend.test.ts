import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { testController } from '../../../test/support/controller.js';
import {
  lastUserMessage,
  type OpenAITestServer,
  startOpenAITestServer,
  systemPrompt,
} from '../../../test/support/openai-server.js';
import type { ArtifactSink } from '../../core/output.js';
import { createLlmBackend } from './index.js';

let server: OpenAITestServer;
before(async () => {
  server = await startOpenAITestServer();
});
after(() => server.close());

const noFiles: ArtifactSink = {
  write: () => Promise.reject(new Error('text tasks write no files')),
};

describe('llm backend: text tasks the controller does itself', () => {
  test('summarization sends the text with an instruction and returns the reply', async () => {
    server.enqueue('Zebras are striped.');
    const controller = testController(server, { model: 'm', timeoutMs: 5000 });
    const backend = createLlmBackend(controller);
    const output = await backend.infer({
      task: 'summarization',
      modelId: 'controller',
      inputs: { text: 'Zebras are African equines with distinctive black-and-white striped coats.' },
      artifacts: noFiles,
      signal: new AbortController().signal,
    });
    assert.equal(output.text, 'Zebras are striped.');
    const request = server.requests.at(-1)!;
    assert.match(systemPrompt(request), /Summarize/);
    assert.match(lastUserMessage(request), /striped coats/);
    const cards = await backend.listModels('summarization');
    assert.equal(cards[0]?.available, true);
    assert.match(cards[0]?.description ?? '', /openai-compatible:m/);
  });

  test('without a controller its cards are unavailable with the reason, and it does not claim vision tasks', async () => {
    const backend = createLlmBackend(undefined);
    const [card] = await backend.listModels('translation');
    assert.equal(card?.available, false);
    assert.match(card?.reason ?? '', /JARVIS_LLM_BASE_URL/);
    assert.equal(backend.supports('object-detection'), false);
    assert.equal(backend.supports('question-answering'), true);
  });
});
