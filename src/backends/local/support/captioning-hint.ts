/**
 * What would describe a photo in which OCR found no text. Local experts run in the worker pool and cannot see
 * the catalog, so this names every way there is and stays true whatever is installed.
 */
export const CAPTIONING_HINT =
  'Describing what a picture shows is image captioning, which needs a captioning model: the transformers.js ' +
  'model Xenova/vit-gpt2-image-captioning (`jarvis pull Xenova/vit-gpt2-image-captioning` once online; not with ' +
  '--offline) or Hugging Face Inference Providers (set HF_TOKEN).';
