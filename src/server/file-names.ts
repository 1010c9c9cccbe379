import { extname } from 'node:path';
import { mimeTypeFromExtension } from '../media/types.js';
import type { StoredUpload } from '../store/index.js';

/** Placeholder names clients send for files that had none (a pasted image, an inline `image_url`). */
const NAMELESS = /^(image|audio|video|upload|file|blob)?$/i;

/** A name safe to show and to link in a run's folder: no folders, control characters or quotes. */
function cleanName(raw: string): string {
  const printable = [...raw].filter((character) => character >= ' ' && character !== '\u007f').join('');
  return printable
    .split(/[\\/]/)
    .at(-1)!
    .replace(/["`<>|*?:]+/g, '')
    .replace(/\s+/g, ' ')
    .replace(/^[.\s]+|\s+$/g, '')
    .slice(0, 80);
}

/**
 * The names a conversation's uploads go by, for the user and the planner alike: the name the user gave
 * (`kite.jpg`; a second `kite.jpg` becomes `kite (2).jpg`), with the stored file's extension when the given one
 * does not fit its content, and `image-1.png`, `image-2.png`, ... for files that came without a name. Uploads
 * are named in the order given (a conversation's, oldest first), so a name never changes between turns.
 */
export function uploadNames(uploads: readonly StoredUpload[]): Map<string, string> {
  const names = new Map<string, string>();
  const taken = new Set<string>();
  const counters = new Map<string, number>();
  for (const upload of uploads) {
    if (names.has(upload.id)) continue;
    const storedExtension = extname(upload.path).slice(1).toLowerCase();
    let name = cleanName(upload.name);
    const stem = name.replace(/\.[^.]*$/, '');
    if (NAMELESS.test(stem) && (NAMELESS.test(name) || stem === '')) {
      const count = (counters.get(upload.kind) ?? 0) + 1;
      counters.set(upload.kind, count);
      name = `${upload.kind}-${count}.${storedExtension}`;
    } else if (!mimeTypeFromExtension(name)?.startsWith(`${upload.kind}/`)) {
      name = `${name}.${storedExtension}`;
    }
    let unique = name;
    for (let copy = 2; taken.has(unique.toLowerCase()); copy++) {
      const dot = name.lastIndexOf('.');
      unique = dot > 0 ? `${name.slice(0, dot)} (${copy})${name.slice(dot)}` : `${name} (${copy})`;
    }
    taken.add(unique.toLowerCase());
    names.set(upload.id, unique);
  }
  return names;
}
