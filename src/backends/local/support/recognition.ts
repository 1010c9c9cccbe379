import type { InferenceRequest } from '../../../core/backend.js';
import { inputName, type TaskOutput } from '../../../core/output.js';
import { decodeAudio } from '../../../media/audio.js';
import type { MonoAudio } from '../../../media/wav.js';
import { requireAudio, throwIfAborted } from './inputs.js';

/** The request's audio, decoded to mono at the recognizer's rate, its length in seconds (one decimal) said. */
export async function speechToRecognize(
  request: InferenceRequest,
  sampleRate: number,
): Promise<{ audio: MonoAudio; seconds: number }> {
  const input = requireAudio(request);
  const audio = await decodeAudio(input.path, sampleRate, request.signal);
  throwIfAborted(request.signal);
  const seconds = Math.round((audio.samples.length / sampleRate) * 10) / 10;
  request.onProgress?.(`recognizing ${seconds} s of speech ...`);
  return { audio, seconds };
}

/** A recognizer's output: the transcript, or, when nothing was heard, a text that says so and `nothingFound`. */
export function transcriptOutput(
  request: InferenceRequest,
  transcript: string,
  data: Record<string, unknown>,
): TaskOutput {
  const name = inputName(request.inputs.audio, 'the recording');
  return {
    text: transcript === '' ? `No speech was recognized in ${name}.` : transcript,
    data: { text: transcript, ...data },
    ...(transcript === '' ? { nothingFound: `no speech was recognized in ${name}` } : {}),
  };
}
