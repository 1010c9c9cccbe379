// Loaded with `node --import` before the conformance CLI: sends its `fs` imports to fs-with-glob.mjs.
import { register } from 'node:module';

register(
  'data:text/javascript,' +
    encodeURIComponent(`
      const shim = ${JSON.stringify(new URL('./fs-with-glob.mjs', import.meta.url).href)};
      export async function resolve(specifier, context, next) {
        if ((specifier === 'fs' || specifier === 'node:fs') && context.parentURL?.includes('/@modelcontextprotocol/conformance/'))
          return { url: shim, shortCircuit: true };
        return next(specifier, context);
      }`),
);
