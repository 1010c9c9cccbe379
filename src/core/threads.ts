import { Worker, type WorkerOptions } from 'node:worker_threads';

/** The module `name` beside `from` (the caller's `import.meta.url`): its .ts source under tsx, its .js once built. */
export function siblingModule(from: string, name: string): URL {
  return new URL(from.endsWith('.ts') ? `./${name}.ts` : `./${name}.js`, from);
}

/**
 * A worker thread running the module `entry`. Under `node --import tsx` (tests, development) a worker cannot
 * load .ts by itself: the loader hooks of the main thread do not reach it, so it registers tsx first (tsx is
 * resolved from here: the evaluated source would resolve it from the working directory). Built code (dist/)
 * loads the .js module directly.
 */
export function startModuleWorker(entry: URL, options: WorkerOptions = {}): Worker {
  if (entry.pathname.endsWith('.ts')) {
    const tsx = import.meta.resolve('tsx/esm/api');
    const source = `import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(entry.href)}); })`;
    return new Worker(source, { ...options, eval: true });
  }
  return new Worker(entry, options);
}
