import { basename } from 'node:path';
import type { InferenceRequest } from '../../../core/backend.js';
import { InputError } from '../../../core/errors.js';
import { imageSizeProblem, MAX_IMAGE_PIXELS } from '../../../core/media-limits.js';
import type { InputFile } from '../../../core/output.js';
import { loadSharp, type Sharp } from '../../../media/sharp.js';
import { unreadableFileMessage } from '../../../media/types.js';
import { checkImageSize } from '../../shared/image-size.js';
import { requireImage, throwIfAborted } from './inputs.js';

export interface DecodedImage {
  /** RGB pixels, row by row, of the image as displayed (EXIF orientation applied). */
  pixels: Uint8Array;
  width: number;
  height: number;
  /** Size of the original image as displayed; `width`/`height` may be smaller when it was downscaled. */
  originalWidth: number;
  originalHeight: number;
}

/**
 * Decodes an image to RGB, upright, at most `maxSide` pixels on its longest side: the detectors work
 * at 256-512 px anyway, and a 24-megapixel photo as an int32 tensor would take ~300 MB.
 */
export async function decodeImage(path: string, maxSide = 1280): Promise<DecodedImage> {
  const sharp = await loadSharp();
  const meta = await readImageHeader(path);
  try {
    const upright = sharp(path, { failOn: 'error', limitInputPixels: MAX_IMAGE_PIXELS }).rotate();
    const swapped = (meta.orientation ?? 1) >= 5;
    const originalWidth = (swapped ? meta.height : meta.width) ?? 0;
    const originalHeight = (swapped ? meta.width : meta.height) ?? 0;
    const { data, info } = await upright
      .resize({ width: maxSide, height: maxSide, fit: 'inside', withoutEnlargement: true })
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    return {
      pixels: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      width: info.width,
      height: info.height,
      originalWidth: originalWidth || info.width,
      originalHeight: originalHeight || info.height,
    };
  } catch (error) {
    throw new InputError(unreadableFileMessage(path, 'image', error), { path });
  }
}

/**
 * The image's header (sharp's metadata reads only the header), checked: a file no decoder can read and an
 * image over `MAX_IMAGE_PIXELS` are InputErrors. Decoding a 746 KB PNG of 16000×16000 would take over 1 GB
 * before any resizing could help.
 */
export async function readImageHeader(path: string): Promise<Awaited<ReturnType<Sharp['metadata']>>> {
  const sharp = await loadSharp();
  let meta: Awaited<ReturnType<Sharp['metadata']>>;
  try {
    meta = await sharp(path).metadata();
  } catch (error) {
    throw new InputError(unreadableFileMessage(path, 'image', error), { path });
  }
  const problem = imageSizeProblem(meta.width ?? 0, meta.height ?? 0);
  if (problem) throw new InputError(`${basename(path)} cannot be read as an image: ${problem}`, { path });
  return meta;
}

/**
 * The request's image, decoded as `decodeImage` does; stops there if the task was cancelled while the
 * image was read, before the model or OpenCV is loaded.
 */
export async function decodeRequestImage(
  request: InferenceRequest,
  maxSide?: number,
): Promise<{ input: InputFile; image: DecodedImage }> {
  const input = requireImage(request);
  const image = await decodeImage(input.path, maxSide);
  throwIfAborted(request.signal);
  return { input, image };
}

/** The image upright as PNG-ready sharp pipeline, for drawing on. */
export async function uprightImage(path: string): Promise<Sharp> {
  await checkImageSize(path);
  const sharp = await loadSharp();
  return sharp(path, { limitInputPixels: MAX_IMAGE_PIXELS }).rotate();
}
