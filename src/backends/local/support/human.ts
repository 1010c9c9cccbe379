import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config, Human, Result, Tensor } from '@vladmandic/human';
import type { DecodedImage } from './image.js';
import { lazyModel, serialQueue } from './lazy.js';

const require = createRequire(import.meta.url);

/** Where human keeps its dist files and the model weights that ship inside its npm package. */
export function humanPaths(): { dist: string; models: string; wasm: string } {
  const dist = dirname(require.resolve('@vladmandic/human'));
  return {
    dist,
    models: join(dist, '..', 'models'),
    wasm: `${dirname(require.resolve('@tensorflow/tfjs-backend-wasm'))}/`,
  };
}

/** Everything switched off: each call enables exactly the model it needs, so calls never mix. */
const ALL_OFF = {
  face: { enabled: false },
  hand: { enabled: false },
  body: { enabled: false },
  object: { enabled: false },
  gesture: { enabled: false },
  segmentation: { enabled: false },
} satisfies Partial<Config>;

interface TfjsIo {
  registerLoadRouter(router: (url: unknown) => unknown): void;
  getModelArtifactsForJSON(
    json: unknown,
    loadWeights: (manifest: { paths: string[]; weights: unknown[] }[]) => Promise<[unknown[], ArrayBuffer]>,
  ): Promise<unknown>;
}

/**
 * human loads models with `fetch('file://...')`, which Node's fetch refuses, and then silently returns
 * empty results. A tfjs load router for file:// URLs reads the model files from disk instead; tfjs
 * consults its routers before falling back to fetch.
 */
function registerFileLoader(io: TfjsIo): void {
  io.registerLoadRouter((url: unknown) => {
    if (typeof url !== 'string' || !url.startsWith('file://')) return null;
    const path = fileURLToPath(url);
    return {
      load: async () => {
        const json: unknown = JSON.parse(await readFile(path, 'utf8'));
        return io.getModelArtifactsForJSON(json, async (manifest) => {
          const specs: unknown[] = [];
          const buffers: Buffer[] = [];
          for (const group of manifest) {
            specs.push(...group.weights);
            for (const file of group.paths) buffers.push(await readFile(join(dirname(path), file)));
          }
          const all = Buffer.concat(buffers);
          return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
        });
      },
    };
  });
}

/** The human library on tfjs's WebAssembly backend (tfjs-node would need a libtensorflow download). */
const runtime = lazyModel('tfjs WebAssembly runtime', async () => {
  const paths = humanPaths();
  const tf = require('@tensorflow/tfjs-core') as { io: TfjsIo };
  registerFileLoader(tf.io);
  // The node-wasm build is not in human's package exports: load it by its resolved path.
  const { Human: HumanClass } = require(join(paths.dist, 'human.node-wasm.js')) as {
    Human: new (config: Partial<Config>) => Human;
  };
  const human = new HumanClass({
    backend: 'wasm',
    wasmPath: paths.wasm,
    modelBasePath: `file://${paths.models}/`,
    debug: false,
    warmup: 'none',
    // Still images, not video frames: never reuse the previous frame's results.
    cacheSensitivity: 0,
    skipAllowed: false,
    filter: { enabled: false },
    ...ALL_OFF,
  });
  await human.init();
  return human;
});

// One WebAssembly tfjs backend per process, and human keeps per-call state: one call at a time.
const queue = serialQueue();

export type HumanModule = 'object' | 'body' | 'segmentation';

/**
 * A human model loaded once, on first use. `run` executes one detection with only that model enabled.
 */
export function humanModel(name: string, module: HumanModule, settings: Record<string, unknown>) {
  const enabled = { ...ALL_OFF, [module]: { ...settings, enabled: true } } as Partial<Config>;
  const model = lazyModel(name, async () => {
    const human = await runtime.get();
    await queue(() => human.load(enabled));
    return human;
  });
  return {
    model,
    async detect(image: DecodedImage, onProgress?: (message: string) => void): Promise<Result> {
      const human = await model.get(onProgress);
      return queue(async () => {
        const tensor = toTensor(human, image);
        try {
          return await human.detect(tensor, enabled);
        } finally {
          human.tf.dispose(tensor);
        }
      });
    },
    async withHuman<T>(
      job: (human: Human) => Promise<T>,
      onProgress?: (message: string) => void,
    ): Promise<T> {
      const human = await model.get(onProgress);
      return queue(() => job(human));
    },
  };
}

/** An int32 [height, width, 3] tensor of the image, as human expects; the caller disposes it. */
export function toTensor(human: Human, image: DecodedImage): Tensor {
  return human.tf.tensor3d(image.pixels, [image.height, image.width, 3], 'int32') as Tensor;
}

export type { Result as HumanResult };
