import type sharpModule from 'sharp';

/**
 * Heavy libraries are imported on first use, not when the backend is created: compromise's lexicon,
 * wink's model and sharp's native binding together took ~2 s of start-up on this machine, which every
 * `jarvis` command would pay even when it runs no local expert.
 */
let sharpPromise: Promise<typeof sharpModule> | undefined;

export function loadSharp(): Promise<typeof sharpModule> {
  sharpPromise ??= import('sharp').then((module) => module.default);
  return sharpPromise;
}

export type Sharp = ReturnType<typeof sharpModule>;
