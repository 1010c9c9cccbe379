import type { TaskName } from '../../core/tasks.js';

/** A well-known ONNX model for transformers.js, offered (and downloaded on first use) when not cached. */
export interface CuratedModel {
  id: string;
  task: TaskName;
  description: string;
  /** Approximate download with the default quantized weights. */
  sizeBytes: number;
}

const MB = 1024 * 1024;

/**
 * A small default set, one or two per task, from the Xenova and onnx-community conversions that
 * transformers.js documents. Sizes are those of the 8-bit quantized weights (`dtype: 'q8'`).
 */
export const CURATED_MODELS: readonly CuratedModel[] = [
  {
    id: 'Xenova/vit-base-patch16-224',
    task: 'image-classification',
    description: 'ViT base (patch 16, 224 px) fine-tuned on ImageNet-1k: 1000 everyday object classes.',
    sizeBytes: 88 * MB,
  },
  {
    id: 'Xenova/detr-resnet-50',
    task: 'object-detection',
    description:
      'DETR with a ResNet-50 backbone trained on COCO 2017: boxes for 91 object classes (people, animals, vehicles).',
    sizeBytes: 43 * MB,
  },
  {
    id: 'Xenova/segformer-b0-finetuned-ade-512-512',
    task: 'image-segmentation',
    description:
      'SegFormer B0 fine-tuned on ADE20k: labels every pixel with one of 150 scene classes (sky, wall, person, tree...).',
    sizeBytes: 4 * MB,
  },
  {
    id: 'Xenova/vit-gpt2-image-captioning',
    task: 'image-to-text',
    description:
      'ViT encoder + GPT-2 decoder trained on COCO captions: one English sentence describing the image.',
    sizeBytes: 250 * MB,
  },
  {
    id: 'Xenova/whisper-tiny.en',
    task: 'automatic-speech-recognition',
    description: 'Whisper tiny (English): speech to text for English audio, robust to noise.',
    sizeBytes: 41 * MB,
  },
  {
    id: 'Xenova/opus-mt-en-de',
    task: 'translation',
    description: 'MarianMT (Helsinki-NLP OPUS-MT) translating English to German.',
    sizeBytes: 76 * MB,
  },
  {
    id: 'Xenova/distilbart-cnn-6-6',
    task: 'summarization',
    description: 'DistilBART fine-tuned on CNN/DailyMail: abstractive summaries of news-like English text.',
    sizeBytes: 290 * MB,
  },
  {
    id: 'Xenova/mobilebert-uncased-mnli',
    task: 'zero-shot-classification',
    description: 'MobileBERT fine-tuned on MultiNLI: classifies English text into labels given at run time.',
    sizeBytes: 26 * MB,
  },
  {
    id: 'onnx-community/depth-anything-v2-small',
    task: 'depth-estimation',
    description: 'Depth Anything V2 small: relative depth map from a single image.',
    sizeBytes: 27 * MB,
  },
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    task: 'feature-extraction',
    description: 'all-MiniLM-L6-v2 sentence embeddings (384 dimensions) for search and clustering.',
    sizeBytes: 23 * MB,
  },
  {
    id: 'Xenova/all-MiniLM-L6-v2',
    task: 'sentence-similarity',
    description: 'all-MiniLM-L6-v2: cosine similarity between English sentences from their embeddings.',
    sizeBytes: 23 * MB,
  },
  {
    id: 'Xenova/distilbert-base-uncased-finetuned-sst-2-english',
    task: 'text-classification',
    description: 'DistilBERT fine-tuned on SST-2: positive or negative sentiment of English text.',
    sizeBytes: 67 * MB,
  },
  {
    id: 'Xenova/distilbert-base-cased-distilled-squad',
    task: 'question-answering',
    description: 'DistilBERT fine-tuned on SQuAD: finds the answer to a question in a given English text.',
    sizeBytes: 63 * MB,
  },
  {
    id: 'Xenova/bert-base-NER',
    task: 'token-classification',
    description:
      'BERT base fine-tuned on CoNLL-2003: people, organisations, locations and miscellaneous names.',
    sizeBytes: 108 * MB,
  },
];
