import type { InferenceRequest } from '../../../core/backend.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import { loadSharp } from '../../../media/sharp.js';
import { writePng } from '../../shared/artifacts.js';
import type { LocalExpert } from '../expert.js';
import { MIN_KEYPOINT_SCORE, movenet } from '../support/human-models.js';
import { decodeRequestImage } from '../support/image.js';
import { pluralize, throwIfAborted } from '../support/inputs.js';

/** MoveNet's 17 COCO keypoints. */
const MOVENET_PARTS = [
  'nose',
  'leftEye',
  'rightEye',
  'leftEar',
  'rightEar',
  'leftShoulder',
  'rightShoulder',
  'leftElbow',
  'rightElbow',
  'leftWrist',
  'rightWrist',
  'leftHip',
  'rightHip',
  'leftKnee',
  'rightKnee',
  'leftAnkle',
  'rightAnkle',
] as const;

export interface Keypoint {
  part: string;
  x: number;
  y: number;
  score: number;
}

export interface Pose {
  score: number;
  box: { xmin: number; ymin: number; xmax: number; ymax: number };
  keypoints: Keypoint[];
}

/**
 * OpenPose's 18-point body layout, as ControlNet's openpose models were trained on it: the order, the
 * limbs and the colours below are those of the OpenPose renderer (controlnet_aux `draw_bodypose`). The
 * neck is not a MoveNet keypoint; it is the midpoint of the shoulders, as OpenPose converters do.
 */
const OPENPOSE_POINTS = [
  'nose',
  'neck',
  'rightShoulder',
  'rightElbow',
  'rightWrist',
  'leftShoulder',
  'leftElbow',
  'leftWrist',
  'rightHip',
  'rightKnee',
  'rightAnkle',
  'leftHip',
  'leftKnee',
  'leftAnkle',
  'rightEye',
  'leftEye',
  'rightEar',
  'leftEar',
] as const;

const OPENPOSE_LIMBS: [number, number][] = [
  [1, 2],
  [1, 5],
  [2, 3],
  [3, 4],
  [5, 6],
  [6, 7],
  [1, 8],
  [8, 9],
  [9, 10],
  [1, 11],
  [11, 12],
  [12, 13],
  [1, 0],
  [0, 14],
  [14, 16],
  [0, 15],
  [15, 17],
];

const OPENPOSE_COLOURS: [number, number, number][] = [
  [255, 0, 0],
  [255, 85, 0],
  [255, 170, 0],
  [255, 255, 0],
  [170, 255, 0],
  [85, 255, 0],
  [0, 255, 0],
  [0, 255, 85],
  [0, 255, 170],
  [0, 255, 255],
  [0, 170, 255],
  [0, 85, 255],
  [0, 0, 255],
  [85, 0, 255],
  [170, 0, 255],
  [255, 0, 255],
  [255, 0, 170],
  [255, 0, 85],
];

function openPosePoints(pose: Pose): (Keypoint | undefined)[] {
  const byPart = new Map(pose.keypoints.map((keypoint) => [keypoint.part, keypoint]));
  const left = byPart.get('leftShoulder');
  const right = byPart.get('rightShoulder');
  const neck =
    left && right
      ? {
          part: 'neck',
          x: (left.x + right.x) / 2,
          y: (left.y + right.y) / 2,
          score: Math.min(left.score, right.score),
        }
      : undefined;
  return OPENPOSE_POINTS.map((part) => (part === 'neck' ? neck : byPart.get(part)));
}

/** The skeleton in OpenPose's style on a black canvas the size of the image. */
export function skeletonSvg(width: number, height: number, poses: Pose[]): string {
  // OpenPose draws 4 px limbs on ~512 px images; keep that proportion on other sizes.
  const limbWidth = Math.max(3, Math.round(Math.max(width, height) / 128));
  const jointRadius = Math.max(3, Math.round(Math.max(width, height) / 128));
  const parts: string[] = [];
  for (const pose of poses) {
    const points = openPosePoints(pose);
    OPENPOSE_LIMBS.forEach(([from, to], index) => {
      const a = points[from];
      const b = points[to];
      const [red, green, blue] = OPENPOSE_COLOURS[index] ?? [255, 255, 255];
      if (!a || !b) return;
      parts.push(
        `<line x1="${a.x.toFixed(1)}" y1="${a.y.toFixed(1)}" x2="${b.x.toFixed(1)}" y2="${b.y.toFixed(1)}" ` +
          `stroke="rgb(${Math.round(red * 0.6)},${Math.round(green * 0.6)},${Math.round(blue * 0.6)})" ` +
          `stroke-width="${limbWidth}" stroke-linecap="round"/>`,
      );
    });
    points.forEach((point, index) => {
      const [red, green, blue] = OPENPOSE_COLOURS[index] ?? [255, 255, 255];
      if (!point) return;
      parts.push(
        `<circle cx="${point.x.toFixed(1)}" cy="${point.y.toFixed(1)}" r="${jointRadius}" fill="rgb(${red},${green},${blue})"/>`,
      );
    });
  }
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="${width}" height="${height}" fill="#000000"/>${parts.join('')}</svg>`
  );
}

const READABLE: Record<string, string> = Object.fromEntries(
  MOVENET_PARTS.map((part) => [part, part.replace(/([A-Z])/g, ' $1').toLowerCase()]),
);

/**
 * A few posture facts read off the keypoints, so that the controller can say what the person is doing
 * without seeing the image. Image y grows downwards.
 */
export function describePosture(pose: Pose): string[] {
  const at = new Map(pose.keypoints.map((keypoint) => [keypoint.part, keypoint]));
  const facts: string[] = [];
  for (const side of ['left', 'right'] as const) {
    const wrist = at.get(`${side}Wrist`);
    const shoulder = at.get(`${side}Shoulder`);
    const nose = at.get('nose');
    if (wrist && nose && wrist.y < nose.y) facts.push(`${side} hand above the head`);
    else if (wrist && shoulder && wrist.y < shoulder.y) facts.push(`${side} hand raised above the shoulder`);
    const knee = at.get(`${side}Knee`);
    const hip = at.get(`${side}Hip`);
    const ankle = at.get(`${side}Ankle`);
    const otherAnkle = at.get(`${side === 'left' ? 'right' : 'left'}Ankle`);
    if (knee && hip && knee.y <= hip.y) facts.push(`${side} knee lifted to hip height`);
    else if (ankle && otherAnkle && hip && knee && otherAnkle.y - ankle.y > Math.abs(knee.y - hip.y) * 0.5) {
      facts.push(`${side} foot off the ground`);
    }
  }
  const hips = [at.get('leftHip'), at.get('rightHip')].filter((point) => point !== undefined);
  const shoulders = [at.get('leftShoulder'), at.get('rightShoulder')].filter((point) => point !== undefined);
  if (hips.length > 0 && shoulders.length > 0) {
    const mean = (points: Keypoint[], axis: 'x' | 'y') =>
      points.reduce((sum, point) => sum + point[axis], 0) / points.length;
    const dx = Math.abs(mean(shoulders, 'x') - mean(hips, 'x'));
    const dy = Math.abs(mean(shoulders, 'y') - mean(hips, 'y'));
    if (dx > dy) facts.push('torso closer to horizontal than vertical (lying, diving or bending)');
  }
  return facts;
}

export const humanPose: LocalExpert = {
  id: 'human-movenet',
  task: 'openpose-control',
  description:
    'Body pose offline: MoveNet Lightning from the @vladmandic/human package, on tfjs WebAssembly (30-80 ms per image). ' +
    'Returns the 17 COCO body keypoints (nose, eyes, ears, shoulders, elbows, wrists, hips, knees, ankles) with ' +
    'scores and a few posture facts, plus an OpenPose-style skeleton image (coloured limbs on black) as ' +
    'openpose-text-to-image expects. One person per image (the most prominent); no hands or face landmarks.',
  sizeBytes: 4_812_029,
  tags: ['pose', 'movenet', 'openpose', 'tfjs', 'human'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const { image } = await decodeRequestImage(request);
    const result = await movenet.detect(image, request.onProgress);
    throwIfAborted(request.signal);
    const scale = image.originalWidth / image.width;
    const poses: Pose[] = result.body
      .map((body) => ({
        score: Math.round(body.score * 1000) / 1000,
        box: {
          xmin: Math.round(body.box[0] * scale),
          ymin: Math.round(body.box[1] * scale),
          xmax: Math.round((body.box[0] + body.box[2]) * scale),
          ymax: Math.round((body.box[1] + body.box[3]) * scale),
        },
        keypoints: body.keypoints
          .filter((keypoint) => keypoint.score >= MIN_KEYPOINT_SCORE)
          .map((keypoint) => ({
            part: keypoint.part,
            x: Math.round(keypoint.position[0] * scale),
            y: Math.round(keypoint.position[1] * scale),
            score: Math.round(keypoint.score * 1000) / 1000,
          })),
      }))
      .filter((pose) => pose.keypoints.length >= 3);
    const svg = skeletonSvg(image.originalWidth, image.originalHeight, poses);
    const sharp = await loadSharp();
    const png = await sharp(Buffer.from(svg)).png().toBuffer();
    const artifact = await writePng(request.artifacts, png, 'pose skeleton');
    const postures = poses.map(describePosture);
    const text =
      poses.length === 0
        ? 'No person found'
        : poses
            .map((pose, index) => {
              const missing = MOVENET_PARTS.filter(
                (part) => !pose.keypoints.some((keypoint) => keypoint.part === part),
              );
              const found = `${pluralize(1, 'person')}: ${pose.keypoints.length} of 17 body keypoints`;
              const gaps =
                missing.length > 0
                  ? ` (not visible: ${missing.map((part) => READABLE[part]).join(', ')})`
                  : '';
              const facts = postures[index]?.length ? `; ${postures[index].join(', ')}` : '';
              return `${found}${gaps}${facts}`;
            })
            .join('\n');
    return {
      text,
      ...(poses.length === 0
        ? { nothingFound: `no person was found in ${inputName(request.inputs.image, 'the image')}` }
        : {}),
      data: {
        poses: poses.map((pose, index) => ({ ...pose, posture: postures[index] })),
        width: image.originalWidth,
        height: image.originalHeight,
      },
      artifacts: [artifact],
    };
  },
};
