/**
 * Loads a model once per process, on first use, and hands the same instance to every later caller.
 * A failed load is forgotten so that a later call can retry (the user may have installed what was
 * missing in between).
 */
export interface LazyModel<T> {
  /** The model; `onProgress` hears "loading <name> ..." only when this call has to wait for the load. */
  get(onProgress?: (message: string) => void): Promise<T>;
  /** Whether the model is loaded already (warm). */
  readonly loaded: boolean;
  /** Forgets the model, calling `dispose` on it when loaded. */
  reset(): Promise<void>;
}

// Models that hold something beyond memory (a worker thread, a process, native ONNX sessions): `closeAllModels`
// ends them.
const closable = new Set<LazyModel<unknown>>();

export function lazyModel<T>(
  name: string,
  load: () => Promise<T>,
  dispose?: (model: T) => Promise<void> | void,
): LazyModel<T> {
  let pending: Promise<T> | undefined;
  let value: { model: T } | undefined;
  const lazy: LazyModel<T> = {
    get(onProgress) {
      if (value) return Promise.resolve(value.model);
      onProgress?.(`loading ${name} ...`);
      if (!pending) {
        pending = load().then(
          (model) => {
            value = { model };
            return model;
          },
          (error: unknown) => {
            pending = undefined;
            throw error;
          },
        );
      }
      return pending;
    },
    get loaded() {
      return value !== undefined;
    },
    async reset() {
      const current = value;
      value = undefined;
      pending = undefined;
      if (current && dispose) await dispose(current.model);
    },
  };
  if (dispose) closable.add(lazy as LazyModel<unknown>);
  return lazy;
}

/** Ends every loaded model that holds a thread or process; they load again on their next use. */
export async function closeAllModels(): Promise<void> {
  await Promise.all([...closable].map((model) => model.reset()));
}

/**
 * Runs jobs one at a time, in call order. For libraries that are not re-entrant (a tfjs backend that
 * keeps one set of tensors, one tesseract worker): concurrent tasks queue instead of corrupting state.
 */
export function serialQueue(): <T>(job: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(job: () => Promise<T>): Promise<T> => {
    const result = tail.then(job, job);
    // The next job waits for this one whatever its outcome; errors reach only this caller.
    tail = result.catch(() => undefined);
    return result;
  };
}
