import type { InferenceRequest } from '../../../core/backend.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import { drawOnPixels, encodeAnnotated, type LabelledBox } from '../../../media/draw-boxes.js';
import { writeJpeg } from '../../shared/artifacts.js';
import { countSummary } from '../../shared/detections.js';
import type { LocalExpert } from '../expert.js';
import { centernet, MIN_OBJECT_SCORE } from '../support/human-models.js';
import { type DecodedImage, decodeRequestImage } from '../support/image.js';
import { throwIfAborted } from '../support/inputs.js';

export type Detection = LabelledBox;

export { countSummary };

/**
 * The boxes drawn on the pixels the detector saw (the image upright, at most 1280 px a side: display size),
 * which the detector no longer needs, encoded as a JPEG (see `encodeAnnotated`). Decoding the file a second
 * time at full size, compositing an SVG overlay the size of the image and encoding a PNG with zlib's default
 * effort cost ~100 ms per image, as much as the detection itself; this costs ~5 ms to draw and ~13 to encode.
 */
async function annotatedImage(
  image: DecodedImage,
  detections: Detection[],
  scale: number,
): Promise<Uint8Array> {
  const drawn = detections.map((detection) => ({
    ...detection,
    box: {
      xmin: detection.box.xmin / scale,
      ymin: detection.box.ymin / scale,
      xmax: detection.box.xmax / scale,
      ymax: detection.box.ymax / scale,
    },
  }));
  await drawOnPixels(image, drawn);
  return encodeAnnotated(image);
}

export const humanObjectDetection: LocalExpert = {
  id: 'human-centernet',
  task: 'object-detection',
  description:
    'Object detection offline: CenterNet (MobileNet-v3 backbone) trained on COCO, from the @vladmandic/human package, ' +
    'on tfjs WebAssembly (~0.2 s per image on a laptop CPU). Finds the 80 COCO classes (person, car, bus, dog, cat, ' +
    'horse, zebra, giraffe, elephant, bird, bottle, chair, laptop, sports ball, ...) and returns each with label, score ' +
    'and box, the count per label, and a copy of the image with labelled boxes. Small, overlapping or partly hidden ' +
    'objects are often missed (e.g. 2 of 3 zebras with heads together); nothing outside the 80 classes.',
  sizeBytes: 4_231_963,
  tags: ['coco', 'centernet', 'tfjs', 'human'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const { image } = await decodeRequestImage(request);
    const result = await centernet.detect(image, request.onProgress);
    throwIfAborted(request.signal);
    // Boxes come in the (possibly downscaled) detector input's pixels; report them in the original's.
    const scale = image.originalWidth / image.width;
    const detections: Detection[] = result.object
      .filter((object) => object.score >= MIN_OBJECT_SCORE)
      .sort((a, b) => b.score - a.score)
      .map((object) => {
        const [x, y, width, height] = object.box;
        const clamp = (value: number, max: number) => Math.round(Math.min(Math.max(value * scale, 0), max));
        return {
          label: object.label,
          score: Math.round(object.score * 1000) / 1000,
          box: {
            xmin: clamp(x, image.originalWidth),
            ymin: clamp(y, image.originalHeight),
            xmax: clamp(x + width, image.originalWidth),
            ymax: clamp(y + height, image.originalHeight),
          },
        };
      });
    const { counts, text } = countSummary(detections);
    const annotated = await annotatedImage(image, detections, scale);
    const artifact = await writeJpeg(request.artifacts, annotated, `detections: ${text}`);
    return {
      text,
      data: { detections, counts, width: image.originalWidth, height: image.originalHeight },
      artifacts: [artifact],
      ...(detections.length === 0
        ? {
            nothingFound: `no objects were found in ${inputName(request.inputs.image, 'the image')}`,
          }
        : {}),
    };
  },
};
