import { isAbsolute, relative, sep } from 'node:path';

/**
 * `path` relative to `root` when it lies inside it (`''` for the root itself), else undefined. The one
 * containment check of Jarvis: plan inputs, served files, workspaces and messages all ask it. Both paths must
 * already be resolved (absolute, or relative to the same folder); it compares names, not real paths.
 */
export function pathInside(root: string, path: string): string | undefined {
  const inside = relative(root, path);
  if (inside === '..' || inside.startsWith(`..${sep}`) || isAbsolute(inside)) return undefined;
  return inside;
}

/** Whether `path` is `root` itself or lies beneath it. */
export function isInside(root: string, path: string): boolean {
  return pathInside(root, path) !== undefined;
}

/** `path` as the user knows it: relative to the first of `roots` that contains it, else as given. */
export function shownPath(path: string, roots: readonly string[]): string {
  for (const root of roots) {
    const inside = pathInside(root, path);
    if (inside) return inside;
  }
  return path;
}
