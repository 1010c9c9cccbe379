import { readFile } from 'node:fs/promises';
import type { InferenceClient, InferenceProviderOrPolicy, Options } from '@huggingface/inference';
import type { InferenceRequest } from '../../core/backend.js';
import {
  type Artifact,
  foundNothing,
  type InputFile,
  inputName,
  type TaskOutput,
} from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';
import { extensionOrSubtype } from '../../media/types.js';
import { writePng } from '../shared/artifacts.js';
import { detectionOutput, type LabelledBox } from '../shared/detections.js';
import {
  inputError,
  requireFile,
  requireLabelledText,
  requireQuestion,
  requireSentences,
  requireText,
} from '../shared/required-inputs.js';
import { entitiesOutput, labelList, percent } from '../shared/scores.js';

/** What one task's runner gets: the client call options carry the signal and switch off blind 503 retries. */
export interface TaskCall {
  client: InferenceClient;
  model: string;
  /** `auto` or one provider; unset lets the client decide (`auto`). */
  provider?: InferenceProviderOrPolicy;
  request: InferenceRequest;
  options: Options;
}

type TaskRunner = (call: TaskCall) => Promise<TaskOutput>;

/** The model and provider every client call names. */
const target = (call: TaskCall): { model: string; provider?: InferenceProviderOrPolicy } =>
  call.provider ? { model: call.model, provider: call.provider } : { model: call.model };

function fail(call: TaskCall, message: string): never {
  throw inputError(call.request, 'hf-inference', message);
}

const text = (call: TaskCall): string => requireText(call.request, 'hf-inference');

const file = (call: TaskCall, kind: 'image' | 'audio'): InputFile =>
  requireFile(call.request, kind, 'hf-inference');

async function blob(call: TaskCall, kind: 'image' | 'audio'): Promise<Blob> {
  const input = file(call, kind);
  return new Blob([await readFile(input.path)], { type: input.mimeType });
}

/** Comma- or newline-separated labels a plan wrote in its text argument ("cat, dog, zebra"). */
function labelsFrom(call: TaskCall): string[] {
  const labels = text(call)
    .split(/[,\n;]/)
    .map((label) => label.trim())
    .filter((label) => label !== '');
  if (labels.length === 0)
    fail(call, `${call.request.task} needs candidate labels in its text input ("cat, dog")`);
  return labels;
}

async function saveBlob(
  call: TaskCall,
  kind: Artifact['kind'],
  data: Blob,
  fallbackType: string,
  label: string,
): Promise<Artifact> {
  const mimeType =
    data.type && data.type !== 'application/octet-stream' ? data.type.split(';')[0]! : fallbackType;
  return call.request.artifacts.write({
    kind,
    bytes: new Uint8Array(await data.arrayBuffer()),
    mimeType,
    extension: extensionOrSubtype(mimeType, fallbackType.split('/')[1] ?? 'bin'),
    label,
  });
}

const RUNNERS: Partial<Record<TaskName, TaskRunner>> = {
  async 'text-classification'(call) {
    const output = await call.client.textClassification(
      { ...target(call), inputs: text(call) },
      call.options,
    );
    return { text: labelList(output), data: output };
  },
  async 'token-classification'(call) {
    const output = await call.client.tokenClassification(
      { ...target(call), inputs: text(call) },
      call.options,
    );
    return entitiesOutput(output);
  },
  async 'fill-mask'(call) {
    const output = await call.client.fillMask({ ...target(call), inputs: text(call) }, call.options);
    return {
      text: output.map((item) => `${item.sequence} (${percent(item.score)})`).join('\n'),
      data: output,
    };
  },
  async summarization(call) {
    const output = await call.client.summarization({ ...target(call), inputs: text(call) }, call.options);
    return { text: output.summary_text, data: output };
  },
  async translation(call) {
    const output = await call.client.translation({ ...target(call), inputs: text(call) }, call.options);
    const translated = Array.isArray(output) ? output[0]?.translation_text : output.translation_text;
    return { text: translated ?? '', data: output };
  },
  async 'text-generation'(call) {
    const output = await call.client.textGeneration({ ...target(call), inputs: text(call) }, call.options);
    return { text: output.generated_text, data: output };
  },
  async conversational(call) {
    const output = await call.client.chatCompletion(
      { ...target(call), messages: [{ role: 'user', content: text(call) }] },
      call.options,
    );
    return { text: output.choices[0]?.message.content ?? '', data: { model: output.model } };
  },
  async 'feature-extraction'(call) {
    const output = await call.client.featureExtraction({ ...target(call), inputs: text(call) }, call.options);
    const dimensions = Array.isArray(output[0])
      ? `${output.length} x ${(output[0] as unknown[]).length}`
      : `${output.length}`;
    return { text: `embedding of ${dimensions} values`, data: output };
  },
  async 'question-answering'(call) {
    const parts = requireQuestion(call.request, 'hf-inference');
    const output = await call.client.questionAnswering({ ...target(call), inputs: parts }, call.options);
    return { text: output.answer, data: output };
  },
  async 'text-to-audio'(call) {
    const output = await call.client.textToAudio({ ...target(call), inputs: text(call) }, call.options);
    return { artifacts: [await saveBlob(call, 'audio', output, 'audio/flac', 'generated audio')] };
  },
  async 'zero-shot-classification'(call) {
    const parsed = requireLabelledText(call.request, 'hf-inference');
    const output = (await call.client.zeroShotClassification(
      { ...target(call), inputs: parsed.text, parameters: { candidate_labels: parsed.labels } },
      call.options,
    )) as unknown;
    // Providers answer [{label, score}] or the older {labels, scores}.
    const first = Array.isArray(output) ? output[0] : output;
    const pairs =
      first && typeof first === 'object' && 'labels' in first
        ? (first as { labels: string[]; scores: number[] }).labels.map((label, index) => ({
            label,
            score: (first as { scores: number[] }).scores[index] ?? 0,
          }))
        : (output as { label: string; score: number }[]);
    return { text: labelList(pairs), data: pairs };
  },
  async 'sentence-similarity'(call) {
    const split = requireSentences(call.request, 'hf-inference');
    const output = await call.client.sentenceSimilarity(
      { ...target(call), inputs: { source_sentence: split.source, sentences: split.others } },
      call.options,
    );
    const scores = split.others.map((sentence, index) => ({ sentence, similarity: output[index] ?? 0 }));
    return {
      text: scores.map((score) => `${score.similarity.toFixed(3)}  ${score.sentence}`).join('\n'),
      data: { source: split.source, scores },
    };
  },
  async 'image-text-to-text'(call) {
    const image = file(call, 'image');
    const bytes = await readFile(image.path);
    const output = await call.client.chatCompletion(
      {
        ...target(call),
        messages: [
          {
            role: 'user',
            content: [
              {
                type: 'image_url',
                image_url: { url: `data:${image.mimeType};base64,${bytes.toString('base64')}` },
              },
              { type: 'text', text: call.request.inputs.text?.trim() || 'Describe this image.' },
            ],
          },
        ],
      },
      call.options,
    );
    return { text: output.choices[0]?.message.content ?? '', data: { model: output.model } };
  },
  async 'zero-shot-image-classification'(call) {
    const output = await call.client.zeroShotImageClassification(
      {
        ...target(call),
        inputs: { image: await blob(call, 'image') },
        parameters: { candidate_labels: labelsFrom(call) },
      } as never,
      call.options,
    );
    return { text: labelList(output), data: output };
  },
  async 'image-classification'(call) {
    const output = await call.client.imageClassification(
      { ...target(call), inputs: await blob(call, 'image') },
      call.options,
    );
    return { text: labelList(output), data: output };
  },
  async 'object-detection'(call) {
    const image = file(call, 'image');
    const output = (await call.client.objectDetection(
      { ...target(call), inputs: await blob(call, 'image') },
      call.options,
    )) as LabelledBox[];
    return detectionOutput(image, output, call.request.artifacts);
  },
  async 'image-segmentation'(call) {
    const output = await call.client.imageSegmentation(
      { ...target(call), inputs: await blob(call, 'image') },
      call.options,
    );
    const artifacts: Artifact[] = [];
    for (const segment of output) {
      if (typeof segment.mask !== 'string') continue;
      artifacts.push(
        await writePng(
          call.request.artifacts,
          new Uint8Array(Buffer.from(segment.mask, 'base64')),
          `mask: ${segment.label}`,
        ),
      );
    }
    const data = output.map(({ mask: _mask, ...rest }) => rest);
    if (output.length === 0)
      return foundNothing(
        `no segments were found in ${inputName(call.request.inputs.image, 'the image')}`,
        data,
      );
    return { text: output.map((segment) => segment.label).join(', '), data, artifacts };
  },
  async 'image-to-text'(call) {
    const output = await call.client.imageToText(
      { ...target(call), data: await blob(call, 'image') },
      call.options,
    );
    return { text: output.generated_text ?? '', data: output };
  },
  async 'image-to-image'(call) {
    const prompt = call.request.inputs.text;
    const output = await call.client.imageToImage(
      {
        ...target(call),
        inputs: await blob(call, 'image'),
        ...(prompt ? { parameters: { prompt } } : {}),
      },
      call.options,
    );
    return { artifacts: [await saveBlob(call, 'image', output, 'image/png', 'generated image')] };
  },
  async 'text-to-image'(call) {
    const output = await call.client.textToImage(
      { ...target(call), inputs: text(call) },
      { ...call.options, outputType: 'blob' },
    );
    return { artifacts: [await saveBlob(call, 'image', output, 'image/jpeg', 'generated image')] };
  },
  async 'text-to-video'(call) {
    const output = await call.client.textToVideo({ ...target(call), inputs: text(call) }, call.options);
    return { artifacts: [await saveBlob(call, 'video', output, 'video/mp4', 'generated video')] };
  },
  async 'text-to-speech'(call) {
    const output = await call.client.textToSpeech({ ...target(call), inputs: text(call) }, call.options);
    return { artifacts: [await saveBlob(call, 'audio', output, 'audio/flac', 'generated speech')] };
  },
  async 'automatic-speech-recognition'(call) {
    const output = await call.client.automaticSpeechRecognition(
      { ...target(call), inputs: await blob(call, 'audio') },
      call.options,
    );
    return { text: output.text, data: output };
  },
  async 'audio-classification'(call) {
    const output = await call.client.audioClassification(
      { ...target(call), inputs: await blob(call, 'audio') },
      call.options,
    );
    return { text: labelList(output), data: output };
  },
  async 'audio-to-audio'(call) {
    const output = await call.client.audioToAudio(
      { ...target(call), inputs: await blob(call, 'audio') },
      call.options,
    );
    const artifacts: Artifact[] = [];
    for (const item of output) {
      const mimeType = item['content-type'] || 'audio/flac';
      artifacts.push(
        await call.request.artifacts.write({
          kind: 'audio',
          bytes: new Uint8Array(Buffer.from(item.blob, 'base64')),
          mimeType,
          extension: extensionOrSubtype(mimeType, 'flac'),
          label: item.label,
        }),
      );
    }
    return { text: output.map((item) => item.label).join(', '), artifacts };
  },
  async 'visual-question-answering'(call) {
    const output = await call.client.visualQuestionAnswering(
      { ...target(call), inputs: { image: await blob(call, 'image'), question: text(call) } },
      call.options,
    );
    return { text: output.answer, data: output };
  },
  async 'document-question-answering'(call) {
    const output = await call.client.documentQuestionAnswering(
      { ...target(call), inputs: { image: await blob(call, 'image'), question: text(call) } },
      call.options,
    );
    return { text: output.answer ?? '', data: output };
  },
};

/** The tasks of the vocabulary this backend runs through `@huggingface/inference`. */
export const HF_INFERENCE_TASKS = Object.keys(RUNNERS) as TaskName[];

export function runnerFor(task: TaskName): TaskRunner | undefined {
  return RUNNERS[task];
}
