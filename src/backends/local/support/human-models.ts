import { humanModel } from './human.js';

/** Below this score centernet's guesses are mostly wrong on the fixtures (duplicates, background). */
export const MIN_OBJECT_SCORE = 0.3;

/** Keypoints below this score are guesses (occluded or outside the image) and are left out. */
export const MIN_KEYPOINT_SCORE = 0.3;

/** COCO-80 detector shipped inside @vladmandic/human; shared by detection and segmentation. */
export const centernet = humanModel('centernet COCO-80 object detector', 'object', {
  minConfidence: MIN_OBJECT_SCORE,
  iouThreshold: 0.4,
  maxDetected: 50,
});

/** Single-person body pose shipped inside @vladmandic/human; shared by pose and segmentation. */
export const movenet = humanModel('MoveNet Lightning body-pose model', 'body', {
  modelPath: 'movenet-lightning.json',
  minConfidence: MIN_KEYPOINT_SCORE,
  maxDetected: 1,
});
