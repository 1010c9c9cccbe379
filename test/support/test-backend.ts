/**
 * A real `InferenceBackend` for tests and benchmarks: it takes time, honours cancellation, writes real
 * (tiny) PNG and WAV files through the run's artifact sink, and fails when told to. Its outputs are derived
 * from its inputs, so a test can check that the right data reached the right task.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { deflateSync } from 'node:zlib';
import {
  type InferenceBackend,
  InferenceError,
  type InferenceRequest,
  type ModelCard,
  type TaskName,
  type TaskOutput,
  taskSignature,
} from '../../src/core/index.js';
import { pngChunk } from './hostile-media.js';

export interface TestBackendCall {
  task: TaskName;
  modelId: string;
  inputs: InferenceRequest['inputs'];
  /** `performance.now()` when the call began and ended (ended stays undefined while it runs). */
  startedAt: number;
  endedAt?: number;
  outcome?: 'succeeded' | 'failed' | 'aborted';
}

export interface TestBackendOptions {
  id: string;
  /** Time each inference takes; a function gives each request its own latency. */
  latencyMs: number | ((request: InferenceRequest) => number);
  tasks: TaskName[];
  /**
   * When to fail: task names, or a function returning true (generic failure), the message to fail with, or
   * the error to throw (e.g. a ModelUnavailableError).
   */
  failOn?: TaskName[] | ((request: InferenceRequest) => boolean | string | Error);
  /** Model ids it offers (for every supported task); defaults to `<id>-model`. */
  models?: string[];
  /** When false the backend keeps running after abort, like a badly behaved remote; default true. */
  honoursAbort?: boolean;
}

export interface TestBackend extends InferenceBackend {
  /** Every call, in the order they began. */
  readonly calls: TestBackendCall[];
  /** Most calls that were running at the same moment. */
  readonly maxConcurrent: number;
}

/** Folds the request's inputs into a short, stable fingerprint. */
function fingerprint(request: InferenceRequest): string {
  const hash = createHash('sha256');
  hash.update(request.task).update('\0').update(request.modelId).update('\0');
  hash.update(request.inputs.text ?? '').update('\0');
  for (const kind of ['image', 'audio', 'video'] as const)
    hash.update(request.inputs[kind]?.path ?? '').update('\0');
  return hash.digest('hex').slice(0, 12);
}

/** A valid 8x8 RGB PNG of one colour. */
export function tinyPng(red: number, green: number, blue: number): Buffer {
  const size = 8;
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: RGB
  const row = Buffer.concat([
    Buffer.from([0]),
    Buffer.from(Array.from({ length: size }, () => [red, green, blue]).flat()),
  ]);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(pixels)),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A valid 16-bit mono WAV of a 50 ms tone. */
export function tinyWav(frequency: number): Buffer {
  const sampleRate = 8000;
  const samples = sampleRate / 20;
  const data = Buffer.alloc(samples * 2);
  for (let i = 0; i < samples; i++) {
    data.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * frequency * i) / sampleRate)), i * 2);
  }
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'ascii');
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8, 'ascii');
  header.write('fmt ', 12, 'ascii');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'ascii');
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

function failureMessage(options: TestBackendOptions, request: InferenceRequest): string | Error | undefined {
  const { failOn } = options;
  if (!failOn) return undefined;
  if (Array.isArray(failOn)) {
    return failOn.includes(request.task)
      ? `test backend ${options.id} was told to fail on ${request.task}`
      : undefined;
  }
  const verdict = failOn(request);
  if (verdict === false) return undefined;
  return verdict === true ? `test backend ${options.id} was told to fail on ${request.task}` : verdict;
}

export function createTestBackend(options: TestBackendOptions): TestBackend {
  const calls: TestBackendCall[] = [];
  const modelIds = options.models ?? [`${options.id}-model`];
  let running = 0;
  let maxConcurrent = 0;

  async function run(request: InferenceRequest): Promise<TaskOutput> {
    request.onProgress?.(`running ${request.modelId}`);
    const latency = typeof options.latencyMs === 'function' ? options.latencyMs(request) : options.latencyMs;
    // A zero latency skips the timer altogether (Node rounds setTimeout(0) up to 1 ms), so benchmarks can
    // measure the scheduler's own cost.
    if (latency <= 0) request.signal.throwIfAborted();
    else if (options.honoursAbort === false) await sleep(latency);
    else await sleep(latency, undefined, { signal: request.signal });

    const failure = failureMessage(options, request);
    if (failure instanceof Error) throw failure;
    if (failure !== undefined) {
      throw new InferenceError(failure, {
        context: { backend: options.id, modelId: request.modelId, task: request.task },
      });
    }

    const print = fingerprint(request);
    const received = [
      request.inputs.text !== undefined ? `text=${request.inputs.text}` : undefined,
      ...(['image', 'audio', 'video'] as const).map((kind) =>
        request.inputs[kind]
          ? `${kind}=${request.inputs[kind].path} (${request.inputs[kind].mimeType})`
          : undefined,
      ),
    ].filter((part) => part !== undefined);
    const output: TaskOutput = {
      text: `${request.task} by ${request.modelId}: ${received.join('; ')}`,
      data: { task: request.task, model: request.modelId, fingerprint: print, inputs: request.inputs },
    };
    const produces = taskSignature(request.task).output;
    const shade = Number.parseInt(print.slice(0, 6), 16);
    if (produces === 'image') {
      const bytes = tinyPng(shade >> 16, (shade >> 8) & 0xff, shade & 0xff);
      output.artifacts = [
        await request.artifacts.write({
          kind: 'image',
          bytes,
          mimeType: 'image/png',
          extension: 'png',
          label: print,
        }),
      ];
    } else if (produces === 'audio') {
      const bytes = tinyWav(200 + (shade % 800));
      output.artifacts = [
        await request.artifacts.write({
          kind: 'audio',
          bytes,
          mimeType: 'audio/wav',
          extension: 'wav',
          label: print,
        }),
      ];
    }
    return output;
  }

  return {
    specificationVersion: 'v1',
    id: options.id,
    calls,
    get maxConcurrent() {
      return maxConcurrent;
    },
    supports: (task) => options.tasks.includes(task),
    async listModels(task?: TaskName): Promise<ModelCard[]> {
      const tasks =
        task === undefined ? options.tasks : options.tasks.filter((candidate) => candidate === task);
      return tasks.flatMap((supported) =>
        modelIds.map((id) => ({
          id,
          backend: options.id,
          task: supported,
          description: `Test model ${id} for ${supported}`,
          source: 'built-in',
          local: true,
          available: true,
        })),
      );
    },
    async infer(request: InferenceRequest): Promise<TaskOutput> {
      const call: TestBackendCall = {
        task: request.task,
        modelId: request.modelId,
        inputs: request.inputs,
        startedAt: performance.now(),
      };
      calls.push(call);
      running++;
      maxConcurrent = Math.max(maxConcurrent, running);
      try {
        const output = await run(request);
        call.outcome = 'succeeded';
        return output;
      } catch (error) {
        call.outcome = request.signal.aborted ? 'aborted' : 'failed';
        throw error;
      } finally {
        running--;
        call.endedAt = performance.now();
      }
    },
  };
}
