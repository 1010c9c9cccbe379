import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import { findExecutable, runCommand, withTemporaryFolder } from '../../../core/processes.js';
import { parseWav } from '../../../media/wav.js';
import type { LocalExpert } from '../expert.js';
import { requireText, throwIfAborted } from '../support/inputs.js';
import { MAX_SPEECH_CHARS, speakableText } from '../support/speech-text.js';

export const FLITE_INSTALL = 'needs the Debian package flite: sudo apt-get install flite';

/**
 * Flite's 16 kHz US English male unit-selection voice. Chosen by intelligibility: spoken and then
 * recognized by pocketsphinx, 35 sentences (10 everyday ones, 25 TaskBench requests; 893 words) came
 * back with 23.1% word errors with rms, 24.3% with kal16 (a more robotic diphone voice), 31.2% with slt;
 * on the 10 everyday sentences awb made 28% and the npm synthesizers espeak-ng and mespeak 86% and 88%,
 * which is why they are not offered.
 */
export const FLITE_VOICE = 'rms';

/** Writes the synthesized speech as an artifact and says how long it is. */
export async function speechOutput(
  request: InferenceRequest,
  wav: Uint8Array,
  engine: string,
  truncated: boolean,
): Promise<TaskOutput> {
  const audio = parseWav(wav);
  const seconds = Math.round((audio.samples.length / audio.sampleRate) * 10) / 10;
  const artifact = await request.artifacts.write({
    kind: 'audio',
    bytes: wav,
    mimeType: 'audio/wav',
    extension: 'wav',
    label: 'synthesized speech',
  });
  const note = truncated
    ? ` (the text was cut to its first ${MAX_SPEECH_CHARS.toLocaleString('en-US')} characters)`
    : '';
  return {
    text: `Synthesized ${seconds} s of speech${note}.`,
    data: { seconds, sampleRate: audio.sampleRate, engine, voice: FLITE_VOICE, truncated },
    artifacts: [artifact],
  };
}

export const fliteTts: LocalExpert = {
  id: 'flite',
  task: 'text-to-speech',
  description:
    'Text-to-speech offline with CMU Flite (Debian package flite), US English male voice "rms", 16 kHz WAV, ' +
    'much faster than real time. Synthetic-sounding but clear, picked because speech recognizers understand it ' +
    'best of the offline voices; English only; reads numbers and common abbreviations; no emotion, no other ' +
    'voices or languages, no voice cloning.',
  sizeBytes: 1_400_000,
  tags: ['tts', 'english', 'flite', 'debian'],
  async checkAvailable() {
    return (await findExecutable('flite')) ? undefined : FLITE_INSTALL;
  },
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const flite = await findExecutable('flite');
    if (!flite) throw new Error(FLITE_INSTALL);
    const { text, truncated } = speakableText(requireText(request));
    throwIfAborted(request.signal);
    const wav = await withTemporaryFolder(async (dir) => {
      const input = join(dir, 'text.txt');
      const output = join(dir, 'speech.wav');
      await writeFile(input, text, 'utf8');
      await runCommand(flite, ['-voice', FLITE_VOICE, '-f', input, '-o', output], { signal: request.signal });
      return new Uint8Array(await readFile(output));
    });
    return speechOutput(request, wav, 'flite (Debian)', truncated);
  },
};
