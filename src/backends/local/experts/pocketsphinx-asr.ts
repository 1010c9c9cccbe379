import { dirname, join } from 'node:path';
import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import { findExecutable, readable } from '../../../core/processes.js';
import { encodeWav } from '../../../media/wav.js';
import type { LocalExpert } from '../expert.js';
import { lazyModel } from '../support/lazy.js';
import { PocketsphinxDecoder } from '../support/pocketsphinx-decoder.js';
import { speechToRecognize, transcriptOutput } from '../support/recognition.js';

/**
 * The US English acoustic model, language model and dictionary sit beside the binary's prefix:
 * `/usr/share/pocketsphinx/model/en-us` for Debian's pocketsphinx-en-us, `/opt/homebrew/share/...` (or
 * `/usr/local/share/...`) for Homebrew's cmu-pocketsphinx.
 */
function modelFiles(binary: string) {
  const dir = join(dirname(binary), '..', 'share', 'pocketsphinx', 'model', 'en-us');
  return { hmm: join(dir, 'en-us'), lm: join(dir, 'en-us.lm.bin'), dict: join(dir, 'cmudict-en-us.dict') };
}

const INSTALL_BOTH =
  'needs pocketsphinx and its US English model: sudo apt-get install pocketsphinx pocketsphinx-en-us ' +
  '(macOS: brew install cmu-pocketsphinx)';
const INSTALL_MODEL = 'needs the Debian package pocketsphinx-en-us: sudo apt-get install pocketsphinx-en-us';

/** The recognizer works on 16 kHz mono; the en-us acoustic model was trained at that rate. */
const SAMPLE_RATE = 16_000;

type Recognizer = { binary: string; model: ReturnType<typeof modelFiles> };

/** The decoder process, started on first use and kept with its model loaded (one per process or worker). */
const decoder = lazyModel(
  'pocketsphinx US English model',
  async () => {
    const found = await recognizer();
    if (typeof found === 'string') throw new Error(found);
    return PocketsphinxDecoder.start(found.binary, found.model, SAMPLE_RATE);
  },
  (loaded) => loaded.stop(),
);

/** The binary and its model files, or why they cannot be used. */
async function recognizer(): Promise<Recognizer | string> {
  // The batch decoder reads a list of files and keeps its model loaded between them; it comes in the same
  // package as pocketsphinx_continuous, which Jarvis no longer needs.
  const binary = await findExecutable('pocketsphinx_batch');
  if (!binary) return INSTALL_BOTH;
  const model = modelFiles(binary);
  const complete =
    (await readable(model.lm)) && (await readable(model.dict)) && (await readable(join(model.hmm, 'mdef')));
  return complete ? { binary, model } : INSTALL_MODEL;
}

export const pocketsphinxAsr: LocalExpert = {
  id: 'pocketsphinx-en-us',
  task: 'automatic-speech-recognition',
  description:
    'Speech recognition offline with CMU PocketSphinx (Debian packages pocketsphinx, pocketsphinx-en-us): US English ' +
    'acoustic model with a general 3-gram language model. Takes WAV, MP3 or Ogg Vorbis (other formats through ' +
    'ffmpeg), converted to 16 kHz mono; a 7 s clip takes ~1 s of CPU. Lowercase words without punctuation. ' +
    'Accuracy is modest: ~29% word errors on synthetic (flite) speech, ~23% on read audiobook speech, worse with ' +
    'noise, accents or music; English only.',
  sizeBytes: 36_000_000,
  tags: ['asr', 'english', 'pocketsphinx', 'debian'],
  async checkAvailable() {
    const found = await recognizer();
    return typeof found === 'string' ? found : undefined;
  },
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const { audio, seconds } = await speechToRecognize(request, SAMPLE_RATE);
    const loaded = await decoder.get(request.onProgress);
    const recognized = loaded.decode(encodeWav(audio));
    // The decoder cannot drop one utterance: a cancelled task stops it (it loads again on the next call).
    const onAbort = () => void decoder.reset();
    request.signal.addEventListener('abort', onAbort, { once: true });
    let transcript: string;
    try {
      transcript = await recognized;
    } catch (error) {
      if (loaded.failed) await decoder.reset();
      throw error;
    } finally {
      request.signal.removeEventListener('abort', onAbort);
    }
    return transcriptOutput(request, transcript, { seconds, sampleRate: SAMPLE_RATE });
  },
};
