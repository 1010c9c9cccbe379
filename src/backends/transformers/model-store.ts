import { readdir, readFile, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { TaskName } from '../../core/tasks.js';

/** A model whose files are on this machine. */
export interface StoredModel {
  id: string;
  /** Folder with config.json and onnx/. */
  dir: string;
  /** Which folder it was found in, for messages. */
  origin: 'models folder' | 'transformers.js cache' | 'Hugging Face cache';
  tasks: TaskName[];
  sizeBytes: number;
  config: ModelConfig;
}

export interface ModelConfig {
  model_type?: string;
  architectures?: string[];
  label2id?: Record<string, number>;
  id2label?: Record<string, string>;
  [key: string]: unknown;
}

const SENTENCE_ENCODERS = new Set([
  'bert',
  'mpnet',
  'roberta',
  'xlm-roberta',
  'distilbert',
  'albert',
  'electra',
  'nomic_bert',
  'modernbert',
  'jina_bert',
  'e5',
  'bge',
]);

/**
 * The tasks a model can do, read from its config.json the way transformers picks a head: by the
 * architecture's suffix, then by model type. An NLI classifier (entailment/contradiction labels) does
 * zero-shot classification; a bare encoder does feature extraction and sentence similarity.
 */
export function tasksOf(config: ModelConfig): TaskName[] {
  const architecture = config.architectures?.[0] ?? '';
  const type = config.model_type ?? '';
  const labels = Object.keys(config.label2id ?? {}).map((label) => label.toLowerCase());
  if (architecture.endsWith('ForImageClassification')) return ['image-classification'];
  if (architecture.endsWith('ForObjectDetection')) return ['object-detection'];
  if (
    /For(Semantic|Instance|Panoptic|Universal)?Segmentation$/.test(architecture) ||
    architecture.endsWith('ForImageSegmentation')
  ) {
    return ['image-segmentation'];
  }
  if (
    architecture.endsWith('ForDepthEstimation') ||
    ['dpt', 'depth_anything', 'glpn', 'depth_pro'].includes(type)
  ) {
    return ['depth-estimation'];
  }
  if (architecture.endsWith('ForSequenceClassification')) {
    return labels.some((label) => label.startsWith('entail'))
      ? ['zero-shot-classification']
      : ['text-classification'];
  }
  if (architecture.endsWith('ForTokenClassification')) return ['token-classification'];
  if (architecture.endsWith('ForQuestionAnswering')) return ['question-answering'];
  if (architecture.endsWith('ForMaskedLM')) return ['fill-mask'];
  if (architecture.endsWith('ForCTC') || ['whisper', 'moonshine', 'wav2vec2', 'hubert'].includes(type)) {
    return ['automatic-speech-recognition'];
  }
  if (architecture.endsWith('ForAudioClassification')) return ['audio-classification'];
  if (type === 'vision-encoder-decoder') return ['image-to-text'];
  if (['marian', 'm2m_100', 'nllb', 'mbart'].includes(type)) return ['translation'];
  if (['bart', 'pegasus'].includes(type)) return ['summarization'];
  if (['t5', 'mt5', 'longt5'].includes(type)) return ['translation', 'summarization', 'text2text-generation'];
  if (architecture.endsWith('ForCausalLM') || ['gpt2', 'llama', 'qwen2', 'phi', 'gemma'].includes(type)) {
    return ['text-generation'];
  }
  if (SENTENCE_ENCODERS.has(type)) return ['feature-extraction', 'sentence-similarity'];
  return [];
}

async function readConfig(dir: string): Promise<ModelConfig | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as ModelConfig;
  } catch {
    return undefined;
  }
}

async function onnxFiles(dir: string): Promise<{ names: string[]; bytes: number }> {
  try {
    const names = (await readdir(join(dir, 'onnx'))).filter((name) => /\.onnx(_data(_\d+)?)?$/.test(name));
    const sizes = await Promise.all(names.map(async (name) => (await stat(join(dir, 'onnx', name))).size));
    return { names, bytes: sizes.reduce((a, b) => a + b, 0) };
  } catch {
    return { names: [], bytes: 0 };
  }
}

async function modelAt(
  id: string,
  dir: string,
  origin: StoredModel['origin'],
): Promise<StoredModel | undefined> {
  const config = await readConfig(dir);
  if (!config) return undefined;
  const files = await onnxFiles(dir);
  if (!files.names.some((name) => name.endsWith('.onnx'))) return undefined;
  return { id, dir, origin, tasks: tasksOf(config), sizeBytes: files.bytes, config };
}

async function subfolders(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** `<root>/<organisation>/<name>` (the Hub layout transformers.js caches in) and `<root>/<name>`. */
async function scanHubLayout(root: string, origin: StoredModel['origin']): Promise<StoredModel[]> {
  const found: StoredModel[] = [];
  for (const first of await subfolders(root)) {
    const direct = await modelAt(first, join(root, first), origin);
    if (direct) {
      found.push(direct);
      continue;
    }
    for (const second of await subfolders(join(root, first))) {
      const model = await modelAt(`${first}/${second}`, join(root, first, second), origin);
      if (model) found.push(model);
    }
  }
  return found;
}

/** Python's cache: `<hub>/models--<organisation>--<name>/snapshots/<revision>/`, newest snapshot first. */
async function scanPythonCache(root: string): Promise<StoredModel[]> {
  const found: StoredModel[] = [];
  for (const folder of await subfolders(root)) {
    if (!folder.startsWith('models--')) continue;
    const id = folder.slice('models--'.length).split('--').join('/');
    const snapshots = join(root, folder, 'snapshots');
    const revisions = await subfolders(snapshots);
    const dated = await Promise.all(
      revisions.map(async (revision) => ({
        revision,
        time: (await stat(join(snapshots, revision))).mtimeMs,
      })),
    );
    for (const { revision } of dated.sort((a, b) => b.time - a.time)) {
      const model = await modelAt(id, join(snapshots, revision), 'Hugging Face cache');
      if (model) {
        found.push(model);
        break;
      }
    }
  }
  return found;
}

/** Where the Python libraries keep downloaded Hub repositories. */
export function defaultPythonHubCache(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HUB_CACHE) return env.HF_HUB_CACHE;
  if (env.HF_HOME) return join(env.HF_HOME, 'hub');
  return join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface', 'hub');
}

export interface ModelStoreOptions {
  modelsDir?: string;
  cacheDir: string;
  pythonHubCache?: string;
}

/** Every ONNX model on this machine, the configured folder first, then the caches. */
export async function scanModels(options: ModelStoreOptions): Promise<StoredModel[]> {
  const lists = await Promise.all([
    options.modelsDir ? scanHubLayout(options.modelsDir, 'models folder') : Promise.resolve([]),
    scanHubLayout(options.cacheDir, 'transformers.js cache'),
    options.pythonHubCache ? scanPythonCache(options.pythonHubCache) : Promise.resolve([]),
  ]);
  const byId = new Map<string, StoredModel>();
  for (const model of lists.flat()) if (!byId.has(model.id)) byId.set(model.id, model);
  return [...byId.values()];
}

/** Which weights to load: full precision when present, else the quantized file a repository ships. */
export async function dtypeFor(dir: string): Promise<'fp32' | 'q8' | 'fp16' | 'q4' | undefined> {
  const { names } = await onnxFiles(dir);
  const has = (suffix: string) => names.some((name) => name.endsWith(suffix));
  const base = names.filter((name) => name.endsWith('.onnx'));
  if (base.some((name) => /^(model|encoder_model|decoder_model_merged)\.onnx$/.test(name))) return 'fp32';
  if (has('_quantized.onnx')) return 'q8';
  if (has('_fp16.onnx')) return 'fp16';
  if (has('_q4.onnx')) return 'q4';
  return undefined;
}
