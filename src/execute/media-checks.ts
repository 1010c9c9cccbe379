import { stat } from 'node:fs/promises';
import { InputError, type InputFile } from '../core/index.js';
import { imageSizeProblem } from '../core/media-limits.js';
import { inputName } from '../core/output.js';
import type { FileKind } from './inputs.js';

/**
 * Refuses an input image whose header declares more pixels than `MAX_IMAGE_PIXELS`, before any expert
 * decodes it: every backend (transformers.js's pipelines included, which decode by path) then sees only
 * images of a bounded size. sharp's metadata reads the header alone, so this costs a few milliseconds
 * whatever the image declares.
 */
export async function checkInputFile(file: InputFile, kind: FileKind): Promise<void> {
  const name = inputName(file);
  // An empty file is the user's problem to hear about as such, not as "this format needs ffmpeg".
  const size = (await stat(file.path).catch(() => undefined))?.size;
  if (size === 0)
    throw new InputError(`${name} is empty (0 bytes): there is no ${kind} in it`, { path: file.path });
  if (kind !== 'image') return;
  // Imported on first use: sharp's native binding costs start-up time that runs without images should not pay.
  const { default: sharp } = await import('sharp');
  let meta: { width?: number; height?: number };
  try {
    meta = await sharp(file.path).metadata();
  } catch {
    // A format sharp cannot read (a remote model may still take it) is left to the expert that decodes it.
    return;
  }
  const problem = imageSizeProblem(meta.width ?? 0, meta.height ?? 0);
  if (problem) throw new InputError(`refused: ${name}: ${problem}`, { path: file.path });
}
