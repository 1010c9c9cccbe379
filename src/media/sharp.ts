import type sharpModule from 'sharp';

/**
 * sharp, imported on first use rather than when a module that may need it loads: its native binding costs
 * start-up time (with compromise's lexicon and wink's model it took ~2 s of every `jarvis` command), which a
 * run without images should not pay.
 */
let sharpPromise: Promise<typeof sharpModule> | undefined;

export function loadSharp(): Promise<typeof sharpModule> {
  sharpPromise ??= import('sharp').then((module) => module.default);
  return sharpPromise;
}

export type Sharp = ReturnType<typeof sharpModule>;
