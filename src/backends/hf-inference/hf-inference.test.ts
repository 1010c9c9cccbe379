import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import sharp from 'sharp';
import { fixture, inferenceRequest } from '../../../test/support/expert-requests.js';
import { type HfTestServer, type HubModel, startHfServer } from '../../../test/support/hf-server.js';
import { createCatalog } from '../../catalog/index.js';
import { modelKey } from '../../core/backend.js';
import { InferenceError, ModelUnavailableError } from '../../core/errors.js';
import { createHfInferenceBackend, type HfInferenceBackendOptions } from './index.js';

const TOKEN = 'hf_loopbackTestToken123';
// A 1x1 PNG, as a text-to-image provider would send (binary body).
const PNG = new Uint8Array(
  Buffer.from(
    'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==',
    'base64',
  ),
);

const live = (task: string): HubModel['providers'] => ({ 'hf-inference': { status: 'live', task } });

const MODELS: HubModel[] = [
  {
    id: 'google/vit-base-patch16-224',
    task: 'image-classification',
    providers: live('image-classification'),
  },
  { id: 'facebook/detr-resnet-50', task: 'object-detection', providers: live('object-detection') },
  { id: 'stabilityai/sdxl-tiny', task: 'text-to-image', providers: live('text-to-image') },
  { id: 'espnet/tts-tiny', task: 'text-to-speech', providers: live('text-to-speech') },
  {
    id: 'openai/whisper-tiny',
    task: 'automatic-speech-recognition',
    providers: live('automatic-speech-recognition'),
  },
  {
    id: 'sentence-transformers/all-MiniLM-L6-v2',
    task: 'sentence-similarity',
    providers: live('sentence-similarity'),
  },
  {
    id: 'dandelin/vilt-b32-finetuned-vqa',
    task: 'visual-question-answering',
    providers: live('visual-question-answering'),
  },
  { id: 'slow/loading-model', task: 'summarization', providers: live('summarization') },
  { id: 'busy/rate-limited', task: 'summarization', providers: live('summarization') },
  { id: 'busy/always-limited', task: 'summarization', providers: live('summarization') },
  { id: 'slow/very-slow-loading', task: 'summarization', providers: live('summarization') },
  {
    id: 'staging/only',
    task: 'summarization',
    providers: { 'hf-inference': { status: 'staging', task: 'summarization' } },
  },
  { id: 'nobody/serves-this', task: 'summarization' },
  { id: 'wrong/task', task: 'translation', providers: live('translation') },
  { id: 'dslim/bert-base-NER', task: 'token-classification', providers: live('token-classification') },
  {
    id: 'facebook/mask2former-swin-tiny',
    task: 'image-segmentation',
    providers: live('image-segmentation'),
  },
  { id: 'deepset/roberta-base-squad2', task: 'question-answering', providers: live('question-answering') },
  {
    id: 'facebook/bart-large-mnli',
    task: 'zero-shot-classification',
    providers: live('zero-shot-classification'),
  },
  {
    id: 'Qwen/Qwen2.5-VL-7B-Instruct',
    task: 'image-text-to-text',
    providers: { together: { status: 'live', task: 'conversational' } },
  },
];

describe('hf-inference backend against a loopback Inference Providers server', () => {
  let server: HfTestServer;
  const backend = (extra: HfInferenceBackendOptions = {}) =>
    createHfInferenceBackend({
      token: TOKEN,
      hubUrl: server.url,
      routerUrl: server.url,
      retry: { rateLimitDelayMs: 50 },
      ...extra,
    });
  /** Summarizes with one model, keeping the progress messages the backend reports on the way. */
  const summarizeWatchingProgress = async (modelId: string, text: string) => {
    const progress: string[] = [];
    const output = await backend().infer(
      inferenceRequest(
        'summarization',
        modelId,
        { text },
        { onProgress: (message) => progress.push(message) },
      ),
    );
    return { output, progress };
  };

  before(async () => {
    server = await startHfServer({ models: MODELS, token: TOKEN });
  });
  after(() => server.close());

  test('classifies an image: asks the Hub which provider serves the model, posts the image bytes, reads labels', async () => {
    server.onInference('google/vit-base-patch16-224', [
      {
        json: [
          { label: 'zebra', score: 0.97 },
          { label: 'horse', score: 0.02 },
        ],
      },
    ]);
    const output = await backend().infer(
      inferenceRequest('image-classification', 'google/vit-base-patch16-224', {
        image: { path: fixture('images', 'b.jpg'), mimeType: 'image/jpeg' },
      }),
    );
    assert.equal(output.text, 'zebra (97%), horse (2%)');
    const mapping = server.requests.find((r) => r.path.startsWith('/api/models/google/vit-base-patch16-224'));
    assert.ok(mapping, 'the provider mapping was asked for');
    assert.match(mapping.path, /expand%5B%5D=inferenceProviderMapping|expand\[\]=inferenceProviderMapping/);
    const call = server.inferenceCalls.at(-1)!;
    assert.equal(call.authorization, `Bearer ${TOKEN}`);
    assert.deepEqual(call.body, readFileSync(fixture('images', 'b.jpg')));
  });

  test('object detection returns the boxes, a count, and the image with boxes drawn as an artifact', async () => {
    server.onInference('facebook/detr-resnet-50', [
      {
        json: [
          { label: 'zebra', score: 0.99, box: { xmin: 50, ymin: 40, xmax: 300, ymax: 260 } },
          { label: 'zebra', score: 0.9, box: { xmin: 10, ymin: 10, xmax: 60, ymax: 60 } },
          { label: 'giraffe', score: 0.8, box: { xmin: 100, ymin: 5, xmax: 200, ymax: 100 } },
        ],
      },
    ]);
    const request = inferenceRequest('object-detection', 'facebook/detr-resnet-50', {
      image: { path: fixture('images', 'b.jpg'), mimeType: 'image/jpeg' },
    });
    const output = await backend().infer(request);
    assert.equal(output.text, '2 zebras, 1 giraffe');
    assert.equal((output.data as unknown[]).length, 3);
    const artifact = output.artifacts?.[0];
    assert.ok(artifact);
    assert.equal(artifact.kind, 'image');
    assert.equal(artifact.mimeType, 'image/jpeg');
    const [drawn, original] = await Promise.all([
      sharp(artifact.path).metadata(),
      sharp(fixture('images', 'b.jpg')).metadata(),
    ]);
    assert.equal(drawn.format, 'jpeg');
    assert.deepEqual([drawn.width, drawn.height], [original.width, original.height]);
  });

  test('NER, segmentation and detection that find nothing say so as data, not as a sentence a next task would read', async () => {
    server.onInference('dslim/bert-base-NER', [
      { json: [] },
      { json: [{ entity_group: 'LOC', word: 'Paris', score: 0.99, start: 12, end: 17 }] },
    ]);
    const none = await backend().infer(
      inferenceRequest('token-classification', 'dslim/bert-base-NER', { text: 'it rained all day' }),
    );
    assert.equal(none.nothingFound, 'no named entities were found in the text');
    assert.equal(none.text, 'No named entities were found in the text.');
    const some = await backend().infer(
      inferenceRequest('token-classification', 'dslim/bert-base-NER', { text: 'it rained in Paris' }),
    );
    assert.equal(some.text, 'Paris (LOC)');
    assert.equal(some.nothingFound, undefined);

    server.onInference('facebook/mask2former-swin-tiny', [{ json: [] }]);
    const segments = await backend().infer(
      inferenceRequest('image-segmentation', 'facebook/mask2former-swin-tiny', {
        image: { path: fixture('images', 'b.jpg'), mimeType: 'image/jpeg', name: 'b.jpg' },
      }),
    );
    assert.equal(segments.nothingFound, 'no segments were found in b.jpg');

    // Named as the user named the file, not by the expert's copy of it.
    server.onInference('facebook/detr-resnet-50', [{ json: [] }]);
    const objects = await backend().infer(
      inferenceRequest('object-detection', 'facebook/detr-resnet-50', {
        image: { path: fixture('images', 'b.jpg'), mimeType: 'image/jpeg', name: 'savanna.jpg' },
      }),
    );
    assert.equal(objects.nothingFound, 'no objects were found in savanna.jpg');
  });

  test('a generated image (binary response) becomes an image artifact', async () => {
    server.onInference('stabilityai/sdxl-tiny', [{ bytes: PNG, contentType: 'image/png' }]);
    const request = inferenceRequest('text-to-image', 'stabilityai/sdxl-tiny', {
      text: 'a zebra on the moon',
    });
    const output = await backend().infer(request);
    assert.equal(output.artifacts?.length, 1);
    assert.equal(output.artifacts?.[0]?.mimeType, 'image/png');
    assert.deepEqual(new Uint8Array(readFileSync(output.artifacts![0]!.path)), PNG);
    assert.deepEqual(server.inferenceCalls.at(-1)?.json, { inputs: 'a zebra on the moon' });
  });

  test('generated speech becomes an audio artifact', async () => {
    const flac = new Uint8Array(Buffer.from('fLaC-not-really-but-bytes'));
    server.onInference('espnet/tts-tiny', [{ bytes: flac, contentType: 'audio/flac' }]);
    const output = await backend().infer(
      inferenceRequest('text-to-speech', 'espnet/tts-tiny', { text: 'hello' }),
    );
    const artifact = output.artifacts?.[0];
    assert.equal(artifact?.kind, 'audio');
    assert.equal(artifact?.mimeType, 'audio/flac');
    assert.ok(artifact?.path.endsWith('.flac'));
  });

  test('speech recognition posts the WAV file and returns its transcript', async () => {
    const wav = fixture('audio', 'sense_and_sensibility_01_austen_64kb-0870.wav');
    server.onInference('openai/whisper-tiny', (call) => ({
      json: { text: call.body.length === readFileSync(wav).length ? 'the family of dashwood' : 'wrong body' },
    }));
    const output = await backend().infer(
      inferenceRequest('automatic-speech-recognition', 'openai/whisper-tiny', {
        audio: { path: wav, mimeType: 'audio/wav' },
      }),
    );
    assert.equal(output.text, 'the family of dashwood');
    assert.equal(server.inferenceCalls.at(-1)?.contentType, 'audio/wav');
  });

  test('feature extraction goes to the pipeline route a sentence-similarity model is served on', async () => {
    server.onInference('sentence-transformers/all-MiniLM-L6-v2', [{ json: [0.1, 0.2, 0.3] }]);
    const output = await backend().infer(
      inferenceRequest('feature-extraction', 'sentence-transformers/all-MiniLM-L6-v2', { text: 'zebras' }),
    );
    assert.equal(output.text, 'embedding of 3 values');
    assert.equal(server.inferenceCalls.at(-1)?.pipeline, 'feature-extraction');
  });

  test('visual question answering sends the image and the question as JSON', async () => {
    server.onInference('dandelin/vilt-b32-finetuned-vqa', (call) => {
      const body = call.json as { inputs: { image: string; question: string } };
      return { json: [{ answer: body.inputs.question.includes('how many') ? '1' : '?', score: 0.8 }] };
    });
    const output = await backend().infer(
      inferenceRequest('visual-question-answering', 'dandelin/vilt-b32-finetuned-vqa', {
        image: { path: fixture('images', 'b.jpg'), mimeType: 'image/jpeg' },
        text: 'how many zebras are there?',
      }),
    );
    assert.equal(output.text, '1');
    const body = server.inferenceCalls.at(-1)?.json as { inputs: { image: string } };
    assert.equal(
      Buffer.from(body.inputs.image, 'base64').length,
      readFileSync(fixture('images', 'b.jpg')).length,
    );
  });

  test('zero-shot classification sends the labels written after the text and reads either answer shape', async () => {
    server.onInference('facebook/bart-large-mnli', (call) => {
      const body = call.json as { inputs: string; parameters: { candidate_labels: string[] } };
      return {
        json: { sequence: body.inputs, labels: body.parameters.candidate_labels, scores: [0.9, 0.1] },
      };
    });
    const output = await backend().infer(
      inferenceRequest('zero-shot-classification', 'facebook/bart-large-mnli', {
        text: 'Messi scored twice. Labels: sports, politics',
      }),
    );
    assert.equal(output.text, 'sports (90%), politics (10%)');
    assert.deepEqual(server.inferenceCalls.at(-1)?.json, {
      inputs: 'Messi scored twice',
      parameters: { candidate_labels: ['sports', 'politics'] },
    });
  });

  test('question answering sends the question and its context', async () => {
    server.onInference('deepset/roberta-base-squad2', [
      { json: { answer: 'Wilmslow', score: 0.9, start: 21, end: 29 } },
    ]);
    const output = await backend().infer(
      inferenceRequest('question-answering', 'deepset/roberta-base-squad2', {
        text: 'Where did Turing live? Alan Turing lived in Wilmslow.',
      }),
    );
    assert.equal(output.text, 'Wilmslow');
    assert.deepEqual(server.inferenceCalls.at(-1)?.json, {
      inputs: { question: 'Where did Turing live?', context: 'Alan Turing lived in Wilmslow.' },
    });
  });

  test('sentence similarity compares the first line with the others', async () => {
    server.onInference('sentence-transformers/all-MiniLM-L6-v2', [{ json: [0.83, 0.12] }]);
    const output = await backend().infer(
      inferenceRequest('sentence-similarity', 'sentence-transformers/all-MiniLM-L6-v2', {
        text: 'A zebra grazes.\nA striped horse eats grass.\nStocks fell today.',
      }),
    );
    assert.equal(output.text, '0.830  A striped horse eats grass.\n0.120  Stocks fell today.');
    assert.deepEqual(server.inferenceCalls.at(-1)?.json, {
      inputs: {
        source_sentence: 'A zebra grazes.',
        sentences: ['A striped horse eats grass.', 'Stocks fell today.'],
      },
    });
  });

  test('a vision-language model answers about an image through the chat completions route', async () => {
    server.onInference('Qwen/Qwen2.5-VL-7B-Instruct', (call) => {
      const body = call.json as { messages: { content: { type: string; image_url?: { url: string } }[] }[] };
      const image = body.messages[0]?.content.find((part) => part.type === 'image_url')?.image_url?.url ?? '';
      return {
        json: {
          id: 'x',
          object: 'chat.completion',
          created: 0,
          model: 'Qwen/Qwen2.5-VL-7B-Instruct',
          choices: [
            {
              index: 0,
              finish_reason: 'stop',
              message: {
                role: 'assistant',
                content: image.startsWith('data:image/jpeg;base64,/9j/') ? 'One zebra.' : '?',
              },
            },
          ],
          usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
        },
      };
    });
    const output = await backend().infer(
      inferenceRequest('image-text-to-text', 'Qwen/Qwen2.5-VL-7B-Instruct', {
        image: { path: fixture('images', 'b.jpg'), mimeType: 'image/jpeg' },
        text: 'How many zebras?',
      }),
    );
    assert.equal(output.text, 'One zebra.');
    assert.equal(server.requests.at(-1)?.path, '/v1/chat/completions');
  });

  test('a model that is loading (503) is waited for as long as it estimates, then retried', async () => {
    server.onInference('slow/loading-model', [
      { status: 503, json: { error: 'Model slow/loading-model is currently loading', estimated_time: 0.3 } },
      { json: [{ summary_text: 'short' }] },
    ]);
    const started = Date.now();
    const { output, progress } = await summarizeWatchingProgress('slow/loading-model', 'long text');
    assert.equal(output.text, 'short');
    assert.ok(Date.now() - started >= 280, 'it waited for the estimate');
    assert.deepEqual(progress, [
      'slow/loading-model is loading on Hugging Face; waiting 1 s as it estimates',
    ]);
    assert.equal(server.inferenceCalls.filter((c) => c.modelId === 'slow/loading-model').length, 2);
  });

  test('cancelling a task stops the wait for a loading model at once', async () => {
    server.onInference('slow/very-slow-loading', [
      { status: 503, json: { error: 'loading', estimated_time: 50 } },
    ]);
    const controller = new AbortController();
    const started = Date.now();
    const pending = backend().infer(
      inferenceRequest(
        'summarization',
        'slow/very-slow-loading',
        { text: 'x' },
        {
          signal: controller.signal,
          onProgress: () => controller.abort(),
        },
      ),
    );
    await assert.rejects(pending, (error: unknown) => {
      assert.equal((error as { code?: string }).code, 'cancelled');
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'it did not wait the 50 s estimate');
  });

  test('a rate limit (429) is backed off and retried', async () => {
    server.onInference('busy/rate-limited', [
      { status: 429, json: { error: 'Rate limit reached' } },
      { status: 429, json: { error: 'Rate limit reached' } },
      { json: [{ summary_text: 'done' }] },
    ]);
    const { output, progress } = await summarizeWatchingProgress('busy/rate-limited', 'x');
    assert.equal(output.text, 'done');
    assert.equal(progress.length, 2);
    assert.match(progress[0]!, /rate limit reached; retrying/);
  });

  test("a rate limit's Retry-After is waited for instead of the default back-off", async () => {
    server.onInference('busy/rate-limited', [
      { status: 429, json: { error: 'Rate limit reached' }, headers: { 'retry-after': '1' } },
      { json: [{ summary_text: 'after the wait' }] },
    ]);
    const started = Date.now();
    const { output, progress } = await summarizeWatchingProgress('busy/rate-limited', 'x');
    assert.equal(output.text, 'after the wait');
    assert.ok(Date.now() - started >= 950, 'it waited the second the server asked for');
    assert.deepEqual(progress, ['Hugging Face rate limit reached; retrying in 1 s']);
  });

  test('a rate limit that lasts ends in a retryable error saying to try later', async () => {
    server.onInference('busy/always-limited', [{ status: 429, json: { error: 'Rate limit reached' } }]);
    await assert.rejects(
      backend({ retry: { attempts: 3, rateLimitDelayMs: 20 } }).infer(
        inferenceRequest('summarization', 'busy/always-limited', { text: 'x' }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof InferenceError);
        assert.equal(error.retryable, true);
        assert.equal(error.context.status, 429);
        assert.match(error.message, /rate limit reached for busy\/always-limited \(429\)/);
        return true;
      },
    );
    assert.equal(server.inferenceCalls.filter((c) => c.modelId === 'busy/always-limited').length, 3);
  });

  test('a rejected token (401) is a clear error about HF_TOKEN that does not show the token', async () => {
    await assert.rejects(
      backend({ token: 'hf_wrongTokenValue999' }).infer(
        inferenceRequest('translation', 'wrong/task', { text: 'hi' }),
      ),
      (error: unknown) => {
        assert.ok(error instanceof ModelUnavailableError);
        assert.match(error.message, /rejected the token \(401\).*set HF_TOKEN/);
        assert.doesNotMatch(JSON.stringify(error.toJSON()), /hf_wrongTokenValue999/);
        return true;
      },
    );
  });

  test('a model the Hub does not know (404) says so', async () => {
    await assert.rejects(
      backend().infer(inferenceRequest('summarization', 'ghost/not-a-model', { text: 'x' })),
      (error: unknown) => {
        assert.ok(error instanceof ModelUnavailableError);
        assert.match(error.message, /ghost\/not-a-model was not found on Hugging Face/);
        return true;
      },
    );
  });

  test('without a token its models are listed as unavailable with the reason, and running one says what to set', async () => {
    const noToken = createHfInferenceBackend({ hubUrl: server.url, routerUrl: server.url });
    const cards = await noToken.listModels('object-detection');
    assert.ok(cards.some((card) => card.id === 'facebook/detr-resnet-50'));
    assert.ok(cards.every((card) => !card.available && /set HF_TOKEN/.test(card.reason ?? '')));
    const calls = server.requests.length;
    await assert.rejects(
      noToken.infer(inferenceRequest('summarization', 'slow/loading-model', { text: 'x' })),
      /set HF_TOKEN/,
    );
    assert.equal(server.requests.length, calls, 'nothing is sent without a token');
  });

  test('a dedicated endpoint URL is called directly, without asking the Hub for providers', async () => {
    server.onInference('wrong/task', [{ json: [{ translation_text: 'Bonjour' }] }]);
    const calls = server.requests.length;
    const output = await backend({ endpointUrl: `${server.url}/hf-inference/models/wrong/task` }).infer(
      inferenceRequest('translation', 'wrong/task', { text: 'Hello' }),
    );
    assert.equal(output.text, 'Bonjour');
    assert.deepEqual(
      server.requests.slice(calls).map((r) => r.path),
      ['/hf-inference/models/wrong/task'],
    );
  });

  test('the catalog checks provider status before offering models and ranks the live ones first', async () => {
    const hf = backend();
    const catalog = createCatalog({ backends: [hf], mode: 'huggingface' });
    const cards = await catalog.list('summarization');
    // The backend's own recommended models are listed; add the loopback ones through a tiny source.
    const withSource = createCatalog({
      backends: [hf],
      mode: 'huggingface',
      sources: [
        {
          id: 'test-list',
          list: async () =>
            ['staging/only', 'nobody/serves-this', 'slow/loading-model', 'ghost/not-a-model'].map(
              (id, index) => ({
                id,
                backend: 'hf-inference',
                task: 'summarization' as const,
                description: id,
                source: 'test-list',
                downloads: 1000 - index,
                local: false,
                available: true,
              }),
            ),
        },
      ],
    });
    assert.ok(cards.length > 0);
    const all = await withSource.list('summarization', { checkAvailability: true });
    const byId = new Map(all.map((card) => [card.id, card]));
    assert.equal(byId.get('slow/loading-model')?.available, true);
    assert.match(
      byId.get('staging/only')?.reason ?? '',
      /no live Inference Provider serves staging\/only for summarization/,
    );
    assert.match(
      byId.get('nobody/serves-this')?.reason ?? '',
      /no Inference Provider serves nobody\/serves-this now/,
    );
    assert.match(byId.get('ghost/not-a-model')?.reason ?? '', /not found on the Hub/);
    const top = await withSource.candidates('summarization', 1);
    assert.deepEqual(top.map(modelKey), ['hf-inference:slow/loading-model']);
  });

  test('a status check that does not answer in time marks the model unavailable instead of stalling selection', async () => {
    const hf = backend();
    const catalog = createCatalog({
      backends: [hf],
      availabilityTimeoutMs: 300,
      sources: [
        {
          id: 'one',
          list: async () => [
            {
              id: 'wrong/task',
              backend: 'hf-inference',
              task: 'translation' as const,
              description: 'x',
              source: 'one',
              local: false,
              available: true,
            },
          ],
        },
      ],
    });
    server.setDelay(3_000);
    try {
      const started = Date.now();
      const [card] = await catalog
        .candidates('translation', 5)
        .then((list) => list.filter((c) => c.id === 'wrong/task'));
      assert.ok(Date.now() - started < 2_500);
      assert.equal(card?.available, false);
      assert.match(card?.reason ?? '', /did not answer within 300 ms/);
    } finally {
      server.setDelay(0);
    }
  });
});
