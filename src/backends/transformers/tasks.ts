import type { InferenceRequest } from '../../core/backend.js';
import { InputError } from '../../core/errors.js';
import { MAX_IMAGE_PIXELS } from '../../core/media-limits.js';
import { foundNothing, type InputFile, inputName, type TaskOutput } from '../../core/output.js';
import type { TaskName } from '../../core/tasks.js';
import { decodeAudio } from '../../media/audio.js';
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

export { splitLabels } from '../shared/inputs.js';

/** A loaded transformers.js pipeline: called with the task's input and options. */
export type LoadedPipeline = ((input: unknown, options?: unknown) => Promise<unknown>) & {
  processor?: { feature_extractor?: { config?: { sampling_rate?: number } } };
  dispose?: () => Promise<void>;
};

type Runner = (pipe: LoadedPipeline, request: InferenceRequest) => Promise<TaskOutput>;

function fail(request: InferenceRequest, message: string): never {
  throw inputError(request, 'transformers', message);
}

const text = (request: InferenceRequest): string => requireText(request, 'transformers');

const file = (request: InferenceRequest, kind: 'image' | 'audio'): InputFile =>
  requireFile(request, kind, 'transformers');

const SEGMENT_COLORS = [
  [230, 25, 75],
  [60, 180, 75],
  [67, 99, 216],
  [245, 130, 49],
  [145, 30, 180],
  [66, 212, 244],
  [240, 50, 230],
  [191, 239, 69],
];

function cosine(a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let normA = 0;
  let normB = 0;
  for (let i = 0; i < a.length; i++) {
    dot += (a[i] ?? 0) * (b[i] ?? 0);
    normA += (a[i] ?? 0) ** 2;
    normB += (b[i] ?? 0) ** 2;
  }
  return normA === 0 || normB === 0 ? 0 : dot / Math.sqrt(normA * normB);
}

interface TensorLike {
  dims: number[];
  tolist(): unknown;
}

const firstOf = <T>(value: T | T[]): T => (Array.isArray(value) ? (value[0] as T) : value);

const RUNNERS: Partial<Record<TaskName, Runner>> = {
  async 'image-classification'(pipe, request) {
    const output = (await pipe(file(request, 'image').path, { top_k: 5 })) as {
      label: string;
      score: number;
    }[];
    return { text: labelList(output), data: output };
  },
  async 'object-detection'(pipe, request) {
    const image = file(request, 'image');
    const output = (await pipe(image.path, { threshold: 0.9 })) as LabelledBox[];
    return detectionOutput(image, output, request.artifacts);
  },
  async 'image-segmentation'(pipe, request) {
    const image = file(request, 'image');
    const segments = (await pipe(image.path)) as {
      label: string | null;
      score: number | null;
      mask: { data: Uint8Array | Uint8ClampedArray; width: number; height: number };
    }[];
    const first = segments[0]?.mask;
    if (!first) return foundNothing(`no segments were found in ${inputName(image)}`);
    // One picture a person can read: each segment tinted in its own colour over the image.
    const { width, height } = first;
    const overlay = Buffer.alloc(width * height * 4);
    const summary = segments.map((segment, index) => {
      const [r, g, b] = SEGMENT_COLORS[index % SEGMENT_COLORS.length] as [number, number, number];
      let pixels = 0;
      segment.mask.data.forEach((value, pixel) => {
        if (value < 128) return;
        pixels += 1;
        overlay.set([r, g, b, 140], pixel * 4);
      });
      return {
        label: segment.label ?? `segment ${index + 1}`,
        ...(segment.score === null ? {} : { score: segment.score }),
        area: Math.round((pixels / (width * height)) * 1000) / 1000,
      };
    });
    const { default: sharp } = await import('sharp');
    const png = await sharp(image.path, { limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(width, height, { fit: 'fill' })
      .composite([{ input: overlay, raw: { width, height, channels: 4 } }])
      .png()
      .toBuffer();
    const artifact = await writePng(request.artifacts, new Uint8Array(png), 'segments');
    return {
      text: summary
        .map((segment) => `${segment.label} (${Math.round(segment.area * 100)}% of the image)`)
        .join(', '),
      data: summary,
      artifacts: [artifact],
    };
  },
  async 'depth-estimation'(pipe, request) {
    const output = firstOf(
      (await pipe(file(request, 'image').path)) as {
        depth: { data: Uint8Array | Uint8ClampedArray; width: number; height: number; channels: number };
      },
    );
    const { depth } = output;
    const { default: sharp } = await import('sharp');
    const png = await sharp(Buffer.from(depth.data), {
      raw: { width: depth.width, height: depth.height, channels: depth.channels as 1 | 2 | 3 | 4 },
    })
      .png()
      .toBuffer();
    const artifact = await writePng(request.artifacts, new Uint8Array(png), 'depth map (brighter is nearer)');
    return { text: `depth map, ${depth.width}x${depth.height}`, artifacts: [artifact] };
  },
  async 'image-to-text'(pipe, request) {
    const output = firstOf((await pipe(file(request, 'image').path)) as { generated_text: string }[]);
    return { text: output.generated_text.trim(), data: output };
  },
  async 'automatic-speech-recognition'(pipe, request) {
    const rate = pipe.processor?.feature_extractor?.config?.sampling_rate ?? 16_000;
    let samples: Float32Array;
    try {
      // transformers.js cannot read audio files in Node (it relies on the browser's AudioContext): the one
      // media decoder reads them, with the same header checks, formats and band-limited resampling as for
      // the local experts.
      samples = (await decodeAudio(file(request, 'audio').path, rate, request.signal)).samples;
    } catch (error) {
      // A recording refused for its header is the input's fault and says so already.
      if (error instanceof InputError) throw error;
      fail(request, `cannot read the audio: ${(error as Error).message}`);
    }
    const output = (await pipe(samples)) as { text: string };
    return { text: output.text.trim(), data: output };
  },
  async translation(pipe, request) {
    const output = firstOf((await pipe(text(request))) as { translation_text: string }[]);
    return { text: output.translation_text.trim(), data: output };
  },
  async summarization(pipe, request) {
    const output = firstOf((await pipe(text(request))) as { summary_text: string }[]);
    return { text: output.summary_text.trim(), data: output };
  },
  async 'text2text-generation'(pipe, request) {
    const output = firstOf((await pipe(text(request))) as { generated_text: string }[]);
    return { text: output.generated_text.trim(), data: output };
  },
  async 'text-generation'(pipe, request) {
    const output = firstOf(
      (await pipe(text(request), { max_new_tokens: 128, return_full_text: false })) as {
        generated_text: string;
      }[],
    );
    return { text: output.generated_text.trim(), data: output };
  },
  async 'zero-shot-classification'(pipe, request) {
    const parsed = requireLabelledText(request, 'transformers');
    const output = (await pipe(parsed.text, parsed.labels)) as { labels: string[]; scores: number[] };
    const pairs = output.labels.map((label, index) => ({ label, score: output.scores[index] ?? 0 }));
    return {
      text: labelList(pairs),
      data: { sequence: parsed.text, labels: output.labels, scores: output.scores },
    };
  },
  async 'feature-extraction'(pipe, request) {
    const output = (await pipe(text(request), { pooling: 'mean', normalize: true })) as TensorLike;
    const embedding = (output.tolist() as number[][])[0] ?? [];
    return { text: `embedding of ${embedding.length} values`, data: embedding };
  },
  async 'sentence-similarity'(pipe, request) {
    const split = requireSentences(request, 'transformers');
    const sentences = [split.source, ...split.others];
    const output = (await pipe(sentences, { pooling: 'mean', normalize: true })) as TensorLike;
    const [source, ...others] = output.tolist() as number[][];
    const scores = others.map((other, index) => ({
      sentence: sentences[index + 1] as string,
      similarity: Math.round(cosine(source ?? [], other) * 1000) / 1000,
    }));
    return {
      text: scores.map((score) => `${score.similarity.toFixed(3)}  ${score.sentence}`).join('\n'),
      data: { source: sentences[0], scores },
    };
  },
  async 'text-classification'(pipe, request) {
    const output = (await pipe(text(request), { top_k: 5 })) as { label: string; score: number }[];
    return { text: labelList(output), data: output };
  },
  async 'token-classification'(pipe, request) {
    const output = (await pipe(text(request), { aggregation_strategy: 'simple' })) as {
      word: string;
      entity?: string;
      entity_group?: string;
      score: number;
    }[];
    return entitiesOutput(output);
  },
  async 'question-answering'(pipe, request) {
    const parts = requireQuestion(request, 'transformers');
    const output = firstOf(
      (await pipe(parts.question, parts.context)) as { answer: string; score: number }[],
    );
    return { text: output.answer.trim(), data: output };
  },
  async 'fill-mask'(pipe, request) {
    const output = (await pipe(text(request))) as { sequence: string; score: number }[];
    return {
      text: output.map((item) => `${item.sequence} (${percent(item.score)})`).join('\n'),
      data: output,
    };
  },
};

/** transformers.js's pipeline name for a task of the vocabulary (sentence similarity is an embedding). */
export function pipelineTask(task: TaskName): string {
  return task === 'sentence-similarity' ? 'feature-extraction' : task;
}

export const TRANSFORMERS_TASKS = Object.keys(RUNNERS) as TaskName[];

export function runnerFor(task: TaskName): Runner | undefined {
  return RUNNERS[task];
}
