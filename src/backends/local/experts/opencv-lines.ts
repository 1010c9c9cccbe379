import type { InferenceRequest } from '../../../core/backend.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import { loadSharp } from '../../../media/sharp.js';
import { writePng } from '../../shared/artifacts.js';
import type { LocalExpert } from '../expert.js';
import { decodeRequestImage } from '../support/image.js';
import { openCv } from '../support/opencv.js';

export interface LineSegment {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export const opencvLines: LocalExpert = {
  id: 'opencv-hough-lines',
  task: 'mlsd-control',
  description:
    'Straight-line map offline with OpenCV.js: Canny edges, then the probabilistic Hough transform keeps straight ' +
    'segments (at least a tenth of the shorter side of the image) and draws them white on black, the input mlsd-text-to-image expects. ' +
    'A classic substitute for the M-LSD network, not M-LSD itself: good on buildings, rooms and furniture, it also ' +
    'picks straight texture edges and misses faint lines. Returns the segments as data.',
  sizeBytes: 10_500_000,
  tags: ['mlsd', 'lines', 'hough', 'opencv', 'controlnet'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const { image } = await decodeRequestImage(request, 2048);
    const { cv } = await openCv.get(request.onProgress);
    const minLength = Math.round(Math.min(image.width, image.height) / 10);
    const source = cv.matFromArray(image.height, image.width, cv.CV_8UC3, image.pixels);
    const grey = new cv.Mat();
    const edges = new cv.Mat();
    const found = new cv.Mat();
    const canvas = cv.Mat.zeros(image.height, image.width, cv.CV_8UC1);
    const segments: LineSegment[] = [];
    let pixels: Uint8Array;
    try {
      cv.cvtColor(source, grey, cv.COLOR_RGB2GRAY);
      // Blurring first keeps fur, grass and other texture from turning into short spurious segments.
      cv.GaussianBlur(grey, grey, new cv.Size(5, 5), 0);
      cv.Canny(grey, edges, 50, 150);
      cv.HoughLinesP(
        edges,
        found,
        1,
        Math.PI / 180,
        Math.max(30, minLength),
        minLength,
        Math.max(3, minLength / 8),
      );
      const values = found.data32S as Int32Array;
      const white = new cv.Scalar(255);
      for (let index = 0; index + 3 < values.length; index += 4) {
        const [x1, y1, x2, y2] = [
          values[index],
          values[index + 1],
          values[index + 2],
          values[index + 3],
        ] as number[];
        segments.push({ x1: x1 ?? 0, y1: y1 ?? 0, x2: x2 ?? 0, y2: y2 ?? 0 });
        cv.line(
          canvas,
          new cv.Point(x1, y1),
          new cv.Point(x2, y2),
          white,
          Math.max(1, Math.round(image.width / 512)),
        );
      }
      pixels = Uint8Array.from(canvas.data as Uint8Array);
    } finally {
      for (const mat of [source, grey, edges, found, canvas]) mat.delete();
    }
    const sharp = await loadSharp();
    const png = await sharp(pixels, { raw: { width: image.width, height: image.height, channels: 1 } })
      .resize(image.originalWidth, image.originalHeight)
      .toColourspace('srgb')
      .png()
      .toBuffer();
    const artifact = await writePng(request.artifacts, png, 'straight lines');
    const scale = image.originalWidth / image.width;
    const scaled = segments.map((segment) => ({
      x1: Math.round(segment.x1 * scale),
      y1: Math.round(segment.y1 * scale),
      x2: Math.round(segment.x2 * scale),
      y2: Math.round(segment.y2 * scale),
    }));
    return {
      text: `${scaled.length} straight line segment${scaled.length === 1 ? '' : 's'} found.`,
      ...(scaled.length === 0
        ? { nothingFound: `no straight lines were found in ${inputName(request.inputs.image, 'the image')}` }
        : {}),
      data: { segments: scaled },
      artifacts: [artifact],
    };
  },
};
