import { basename } from 'node:path';
import { InputError } from '../../core/errors.js';
import { imageSizeProblem } from '../../core/media-limits.js';

/**
 * Refuses an image whose header declares more than `MAX_IMAGE_PIXELS`, before a backend decodes it (a 746 KB
 * PNG of 16000×16000 takes over 1 GB). sharp's metadata reads only the header. The scheduler checks every
 * task input already; backends check again because a library user may call them directly.
 */
export async function checkImageSize(path: string): Promise<void> {
  // Loaded on first use: sharp's native binding costs start-up time that runs without images should not pay.
  const { default: sharp } = await import('sharp');
  // A header sharp cannot read is left to the decoder, whose error says what is wrong with the file.
  const meta = await sharp(path)
    .metadata()
    .catch(() => ({ width: undefined, height: undefined }));
  const problem = imageSizeProblem(meta.width ?? 0, meta.height ?? 0);
  if (problem) throw new InputError(`${basename(path)} cannot be read as an image: ${problem}`, { path });
}
