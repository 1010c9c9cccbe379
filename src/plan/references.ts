import { RESOURCE_KINDS, type ResourceKind } from '../core/tasks.js';

/**
 * The ways LLMs misspell HuggingGPT's `<GENERATED>-k`: `<GENERATED-0>`, `<GENERATED>0`, `<generated> - 0`,
 * `<GENERATED_0>`, `<GENERATED>-{0}`. All of them mean the same thing, so they are rewritten rather than
 * sent back to the LLM as problems.
 */
const LOOSE_REFERENCE =
  // After the closing ">" only a brace may be followed by spaces to eat: the space after "<GENERATED>-0"
  // in "Translate <GENERATED>-0 into French" belongs to the text around it.
  /<\s*generated\s*(?:[-_:#\s]\s*\{?\s*(\d+)\s*\}?\s*>|>\s*[-_:#\u2013\u2014]?\s*(?:\{\s*(\d+)\s*\}|(\d+)))/gi;

/** Rewrites every loosely written reference inside `value` to the canonical `<GENERATED>-k`. */
export function normalizeReferenceText(value: string): string {
  return value.replace(
    LOOSE_REFERENCE,
    (_match, inside: string | undefined, braced: string | undefined, after: string | undefined) =>
      `<GENERATED>-${Number(inside ?? braced ?? after)}`,
  );
}

const ANY_REFERENCE = /<GENERATED>-(\d+)/g;

/** The task ids referenced anywhere inside a (normalised) value, in order of appearance. */
export function referencesIn(value: string): number[] {
  return [...value.matchAll(ANY_REFERENCE)].map((match) => Number(match[1]));
}

/**
 * Splits a value that lists several resources, as HuggingGPT's `unfold` does for
 * `"<GENERATED>-0,<GENERATED>-1"`. Only lists whose every item is a reference (or, for media arguments,
 * a file name or URL) are split: prose with commas stays one text.
 */
export function splitResourceList(value: string, kind: ResourceKind): string[] {
  if (!/[,;]|\band\b/.test(value)) return [value];
  const items = value
    .split(/\s*(?:[,;]|\band\b)\s*/)
    .map((item) => item.trim())
    .filter((item) => item.length > 0);
  if (items.length < 2) return [value];
  if (items.every((item) => /^<GENERATED>-\d+$/.test(item))) return items;
  if (kind !== 'text' && items.every((item) => inferKindFromValue(item) === kind)) return items;
  return [value];
}

const EXTENSION_KINDS: Record<string, ResourceKind> = {};
for (const ext of ['jpg', 'jpeg', 'png', 'gif', 'bmp', 'webp', 'tif', 'tiff', 'svg', 'heic', 'avif']) {
  EXTENSION_KINDS[ext] = 'image';
}
for (const ext of ['wav', 'mp3', 'flac', 'ogg', 'oga', 'm4a', 'aac', 'opus', 'weba', 'aiff']) {
  EXTENSION_KINDS[ext] = 'audio';
}
for (const ext of ['mp4', 'mov', 'avi', 'mkv', 'webm', 'mpeg', 'mpg', 'm4v', 'wmv', 'flv']) {
  EXTENSION_KINDS[ext] = 'video';
}

/**
 * The resource kind a literal value names by its file extension ("a.jpg" -> image, a URL ending in
 * .wav -> audio); undefined when it does not look like a media file, which makes it text.
 */
export function inferKindFromValue(value: string): Exclude<ResourceKind, 'text'> | undefined {
  const trimmed = value.trim();
  if (/\s/.test(trimmed) && !/^https?:\/\//i.test(trimmed)) return undefined;
  let path = trimmed;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    try {
      path = new URL(trimmed).pathname;
    } catch {
      return undefined;
    }
  }
  const dataUrlKind = /^data:(image|audio|video)\//i.exec(trimmed)?.[1];
  if (dataUrlKind) return dataUrlKind.toLowerCase() as Exclude<ResourceKind, 'text'>;
  const extension = /\.([a-z0-9]{2,5})$/i.exec(path)?.[1]?.toLowerCase();
  const kind = extension ? EXTENSION_KINDS[extension] : undefined;
  return kind === 'text' ? undefined : kind;
}

export function isResourceKind(value: string): value is ResourceKind {
  return (RESOURCE_KINDS as readonly string[]).includes(value);
}
