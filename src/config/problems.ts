import type { z } from 'zod';
import { closestNames } from '../core/did-you-mean.js';

/** The keys of the object schema at `path`, looking through wrappers such as `.prefault({})`. */
function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: unknown = schema;
  const unwrap = (node: unknown): unknown => {
    let inner = node as { _zod?: { def?: { innerType?: unknown } }; shape?: unknown };
    while (inner && !inner.shape && inner._zod?.def?.innerType)
      inner = inner._zod.def.innerType as typeof inner;
    return inner;
  };
  for (const key of path) {
    const node = unwrap(current) as { shape?: Record<string, unknown> } | undefined;
    current = node?.shape?.[String(key)];
  }
  const node = unwrap(current) as { shape?: Record<string, unknown> } | undefined;
  return node?.shape ? Object.keys(node.shape) : [];
}

/** Every key path of the schema ("llm", "llm.baseURL", ...), for keys put at the wrong level. */
function allPaths(schema: z.ZodType, prefix: string[] = []): string[][] {
  return keysAt(schema, prefix).flatMap((key) => [[...prefix, key], ...allPaths(schema, [...prefix, key])]);
}

/**
 * The key the user most likely meant: the nearest key at the same level, else a key of the same name (or
 * nearly) elsewhere ("concurrency" at the top is "execute.concurrency").
 */
export function suggestKey(schema: z.ZodType, path: readonly PropertyKey[], key: string): string | undefined {
  const [sibling] = closestNames(key, keysAt(schema, path), { max: 1 });
  if (sibling !== undefined) return [...path.map(String), sibling].join('.');
  const paths = allPaths(schema);
  const [leaf] = closestNames(
    key,
    paths.map((candidate) => candidate.at(-1) ?? ''),
    { max: 1 },
  );
  return leaf === undefined ? undefined : paths.find((candidate) => candidate.at(-1) === leaf)?.join('.');
}

/**
 * zod's issues as lines a user can act on. An unknown key names where it was found and the key meant:
 * `unknown config key "selct" in jarvis.config.json — did you mean "select"?`.
 */
export function configProblems(schema: z.ZodType, error: z.ZodError, source: string | undefined): string[] {
  const where = source ? ` in ${source}` : '';
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => {
        const full = [...issue.path.map(String), key].join('.');
        const meant = suggestKey(schema, issue.path, key);
        const known = keysAt(schema, issue.path);
        return meant
          ? `unknown config key "${full}"${where} — did you mean "${meant}"?`
          : `unknown config key "${full}"${where} (known keys${issue.path.length ? ` of ${issue.path.join('.')}` : ''}: ${known.join(', ')})`;
      });
    }
    return [`invalid config value ${issue.path.join('.') || '(root)'}${where}: ${issue.message}`];
  });
}
