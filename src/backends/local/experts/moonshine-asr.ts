import type { InferenceRequest } from '../../../core/backend.js';
import type { TaskOutput } from '../../../core/output.js';
import type { LocalExpert } from '../expert.js';
import { MOONSHINE_SAMPLE_RATE, moonshineModelDir, transcribe } from '../support/moonshine.js';
import { speechToRecognize, transcriptOutput } from '../support/recognition.js';

export const moonshineAsr: LocalExpert = {
  id: 'moonshine-tiny',
  task: 'automatic-speech-recognition',
  description:
    'Speech recognition offline with Moonshine Tiny (Useful Sensors, 27 M parameters, MIT; int8 ONNX from the npm ' +
    'package @moonshine-ai/moonshine-js, run with onnxruntime-node). English only. Takes WAV, MP3 or Ogg Vorbis ' +
    '(other formats through ffmpeg), converted to 16 kHz mono; recordings over 25 s are cut at quiet moments. ' +
    'Writes cased text with punctuation. Read speech is transcribed almost exactly (3 of 71 words wrong on the ' +
    'audiobook clips Jarvis tests with); robotic synthetic voices, noise, accents and music do worse. A 7 s ' +
    'clip takes ~0.5 s of CPU.',
  sizeBytes: 28_200_000,
  tags: ['asr', 'english', 'moonshine', 'onnx'],
  async checkAvailable() {
    return moonshineModelDir()
      ? undefined
      : 'needs the npm package @moonshine-ai/moonshine-js, which holds the model (run npm install in Jarvis)';
  },
  async run(request: InferenceRequest): Promise<TaskOutput> {
    const { audio, seconds } = await speechToRecognize(request, MOONSHINE_SAMPLE_RATE);
    const { text, segments } = await transcribe(audio.samples, request.signal, request.onProgress);
    return transcriptOutput(request, text, { seconds, sampleRate: MOONSHINE_SAMPLE_RATE, segments });
  },
};
