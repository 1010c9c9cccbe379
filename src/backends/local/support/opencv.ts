import { createRequire } from 'node:module';
import { lazyModel } from './lazy.js';

const require = createRequire(import.meta.url);

/** The opencv.js module (Emscripten); typed loosely because only a handful of calls are used. */
// biome-ignore lint/suspicious/noExplicitAny: opencv.js's own typings describe the browser build's globals.
export type OpenCv = any;

/**
 * opencv.js, initialized once. Its module object is thenable: awaiting it (or resolving a promise with
 * it, which is what `return cv` from an async function does) waits on a `then` that never settles and
 * the process hangs silently. It is therefore always passed around wrapped in `{ cv }`.
 */
export const openCv = lazyModel('OpenCV.js', async (): Promise<{ cv: OpenCv }> => {
  const cv = require('@techstark/opencv-js') as OpenCv;
  if (!cv.Mat) {
    await new Promise<void>((resolve) => {
      cv.onRuntimeInitialized = () => resolve();
    });
  }
  return { cv };
});
