/**
 * Writes tiny, valid ONNX models with the files transformers.js needs beside them (config.json,
 * tokenizer.json, preprocessor_config.json, generation_config.json), so tests run transformers.js for
 * real without downloading anything. Weights are small and chosen by hand or from a seeded generator;
 * where a task allows it they make the output predictable (a colour classifier that says "red" for a
 * red image), so tests can check real behaviour end to end.
 *
 * ONNX is a protobuf format; the few messages needed (ModelProto, GraphProto, NodeProto, TensorProto,
 * ValueInfoProto, AttributeProto) are encoded here directly, which avoids a protobuf dependency.
 *
 * Usage: node --import tsx scripts/make-tiny-onnx.ts <folder>   (writes <folder>/jarvis-tiny/<model>/...)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seededRandom } from './seeded-random.js';

// ---------------------------------------------------------------------------------------------------
// Protobuf encoding (wire types: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32)

type Field = Uint8Array;

function varint(value: number | bigint): number[] {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  while (v >= 0x80n) {
    out.push(Number((v & 0x7fn) | 0x80n));
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

const concat = (parts: readonly Uint8Array[]): Uint8Array => {
  const total = parts.reduce((sum, part) => sum + part.length, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

const key = (field: number, wireType: number): number[] => varint((field << 3) | wireType);
const intField = (field: number, value: number | bigint): Field =>
  new Uint8Array([...key(field, 0), ...varint(value)]);
const bytesField = (field: number, bytes: Uint8Array): Field =>
  concat([new Uint8Array([...key(field, 2), ...varint(bytes.length)]), bytes]);
const stringField = (field: number, text: string): Field => bytesField(field, new TextEncoder().encode(text));
const messageField = (field: number, parts: readonly Field[]): Field => bytesField(field, concat(parts));
const floatField = (field: number, value: number): Field => {
  const bytes = new Uint8Array(4);
  new DataView(bytes.buffer).setFloat32(0, value, true);
  return concat([new Uint8Array(key(field, 5)), bytes]);
};
const packedInts = (field: number, values: readonly number[]): Field =>
  bytesField(field, new Uint8Array(values.flatMap((value) => varint(value))));

// ---------------------------------------------------------------------------------------------------
// ONNX messages

const FLOAT = 1;
const INT64 = 7;

export interface Tensor {
  name: string;
  dims: number[];
  /** Float32 by default; int64 when `int64` is set. */
  data: Float32Array | BigInt64Array;
}

function tensorProto(tensor: Tensor, field?: number): Field {
  const isInt = tensor.data instanceof BigInt64Array;
  const raw = new Uint8Array(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const parts = [
    packedInts(1, tensor.dims),
    intField(2, isInt ? INT64 : FLOAT),
    stringField(8, tensor.name),
    bytesField(9, new Uint8Array(raw)),
  ];
  return field === undefined ? concat(parts) : messageField(field, parts);
}

type Attribute =
  | { name: string; int: number }
  | { name: string; ints: number[] }
  | { name: string; float: number }
  | { name: string; tensor: Tensor };

function attributeProto(attribute: Attribute): Field {
  const parts: Field[] = [stringField(1, attribute.name)];
  if ('int' in attribute) parts.push(intField(20, 2), intField(3, attribute.int));
  else if ('ints' in attribute) parts.push(intField(20, 7), packedInts(8, attribute.ints));
  else if ('float' in attribute) parts.push(intField(20, 1), floatField(2, attribute.float));
  else parts.push(intField(20, 4), messageField(5, [tensorProto(attribute.tensor)]));
  return messageField(5, parts);
}

export interface Node {
  op: string;
  inputs: string[];
  outputs: string[];
  attributes?: Attribute[];
}

/** A graph input or output: element type and shape, symbolic dimensions as names. */
export interface ValueInfo {
  name: string;
  type: 'float32' | 'int64';
  shape: (number | string)[];
}

function valueInfoProto(field: number, info: ValueInfo): Field {
  const dims = info.shape.map((dim) =>
    messageField(1, [typeof dim === 'number' ? intField(1, dim) : stringField(2, dim)]),
  );
  const tensorType = messageField(1, [
    intField(1, info.type === 'int64' ? INT64 : FLOAT),
    messageField(2, dims),
  ]);
  return messageField(field, [stringField(1, info.name), messageField(2, [tensorType])]);
}

export interface Graph {
  nodes: Node[];
  initializers: Tensor[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
}

/** Serialises a graph as an ONNX model (IR 8, opset 17). */
export function encodeModel(graph: Graph): Uint8Array {
  const nodes = graph.nodes.map((node, index) =>
    messageField(1, [
      ...node.inputs.map((input) => stringField(1, input)),
      ...node.outputs.map((output) => stringField(2, output)),
      stringField(3, `${node.op.toLowerCase()}_${index}`),
      stringField(4, node.op),
      ...(node.attributes ?? []).map(attributeProto),
    ]),
  );
  const graphProto = messageField(7, [
    ...nodes,
    stringField(2, 'jarvis_tiny'),
    ...graph.initializers.map((tensor) => tensorProto(tensor, 5)),
    ...graph.inputs.map((input) => valueInfoProto(11, input)),
    ...graph.outputs.map((output) => valueInfoProto(12, output)),
  ]);
  return concat([
    intField(1, 8),
    stringField(2, 'jarvis make-tiny-onnx'),
    graphProto,
    messageField(8, [stringField(1, ''), intField(2, 17)]),
  ]);
}

// ---------------------------------------------------------------------------------------------------
// Weights

const floats = (name: string, dims: number[], values: number[] | ((index: number) => number)): Tensor => {
  const size = dims.reduce((a, b) => a * b, 1);
  const data = new Float32Array(size);
  for (let i = 0; i < size; i++) data[i] = typeof values === 'function' ? values(i) : (values[i] ?? 0);
  return { name, dims, data };
};

const int64s = (name: string, values: number[]): Tensor => ({
  name,
  dims: [values.length],
  data: BigInt64Array.from(values.map((value) => BigInt(value))),
});

// ---------------------------------------------------------------------------------------------------
// Model folders

const COLOR_LABELS = ['red', 'green', 'blue'];

function writeJson(dir: string, name: string, value: unknown): void {
  writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`);
}

function writeOnnx(dir: string, name: string, graph: Graph): void {
  mkdirSync(join(dir, 'onnx'), { recursive: true });
  writeFileSync(join(dir, 'onnx', name), encodeModel(graph));
}

/** A model folder with one graph, onnx/model.onnx, and its config.json. */
function writeModel(dir: string, graph: Graph, config: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true });
  writeOnnx(dir, 'model.onnx', graph);
  writeJson(dir, 'config.json', config);
}

/** The mean over `axes`, as the pooling steps of several tiny models compute it. */
const reduceMean = (input: string, output: string, axes: number[], keepdims: 0 | 1): Node => ({
  op: 'ReduceMean',
  inputs: [input],
  outputs: [output],
  attributes: [
    { name: 'axes', ints: axes },
    { name: 'keepdims', int: keepdims },
  ],
});

function imageProcessor(
  type: string,
  size: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    image_processor_type: type,
    do_resize: true,
    size: { height: size, width: size },
    resample: 2,
    do_rescale: true,
    rescale_factor: 1 / 255,
    do_normalize: true,
    image_mean: [0.5, 0.5, 0.5],
    image_std: [0.5, 0.5, 0.5],
    ...extra,
  };
}

const PIXEL_VALUES: ValueInfo = {
  name: 'pixel_values',
  type: 'float32',
  shape: ['batch', 3, 'height', 'width'],
};

/** An image model: one graph reading pixel_values, its config and its image processor. */
function writeImageModel(
  dir: string,
  graph: Omit<Graph, 'inputs'>,
  config: Record<string, unknown>,
  processor: Record<string, unknown>,
): void {
  writeModel(dir, { ...graph, inputs: [PIXEL_VALUES] }, config);
  writeJson(dir, 'preprocessor_config.json', processor);
}

const labelMaps = (labels: string[]) => ({
  id2label: Object.fromEntries(labels.map((label, index) => [String(index), label])),
  label2id: Object.fromEntries(labels.map((label, index) => [label, index])),
});

/**
 * pixel_values [b,3,H,W] -> mean colour per channel [b,3] -> logits = 10 * colour: after normalisation
 * a pure red image is (1, -1, -1), so "red" wins by a wide margin.
 */
function colourLogits(output: string, extraClasses = 0): { nodes: Node[]; initializers: Tensor[] } {
  const classes = 3 + extraClasses;
  return {
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixel_values'], outputs: ['pooled'] },
      { op: 'Flatten', inputs: ['pooled'], outputs: ['colour'], attributes: [{ name: 'axis', int: 1 }] },
      { op: 'MatMul', inputs: ['colour', 'colour_weight'], outputs: ['scaled'] },
      { op: 'Add', inputs: ['scaled', 'colour_bias'], outputs: [output] },
    ],
    initializers: [
      floats('colour_weight', [3, classes], (i) => (Math.floor(i / classes) === i % classes ? 10 : 0)),
      floats('colour_bias', [classes], () => 0),
    ],
  };
}

export function writeImageClassifier(dir: string): void {
  writeImageModel(
    dir,
    { ...colourLogits('logits'), outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 3] }] },
    { model_type: 'vit', architectures: ['ViTForImageClassification'], ...labelMaps(COLOR_LABELS) },
    imageProcessor('ViTImageProcessor', 32),
  );
}

/** DETR-shaped: one query whose class is the image's dominant colour, boxed around the centre half. */
export function writeObjectDetector(dir: string): void {
  const { nodes, initializers } = colourLogits('class_logits', 1);
  writeImageModel(
    dir,
    {
      nodes: [
        ...nodes,
        { op: 'Reshape', inputs: ['class_logits', 'logits_shape'], outputs: ['logits'] },
        { op: 'Identity', inputs: ['box'], outputs: ['pred_boxes'] },
      ],
      initializers: [
        ...initializers,
        int64s('logits_shape', [-1, 1, 4]),
        floats('box', [1, 1, 4], [0.5, 0.5, 0.5, 0.5]),
      ],
      outputs: [
        { name: 'logits', type: 'float32', shape: ['batch', 1, 4] },
        { name: 'pred_boxes', type: 'float32', shape: [1, 1, 4] },
      ],
    },
    { model_type: 'detr', architectures: ['DetrForObjectDetection'], ...labelMaps(COLOR_LABELS) },
    imageProcessor('DetrImageProcessor', 32, { do_pad: false, size: { height: 32, width: 32 } }),
  );
}

/** Segformer-shaped semantic segmentation: each pixel's label is its dominant colour. */
export function writeSegmenter(dir: string): void {
  writeImageModel(
    dir,
    {
      nodes: [
        {
          op: 'Conv',
          inputs: ['pixel_values', 'pixel_weights'],
          outputs: ['logits'],
          attributes: [{ name: 'kernel_shape', ints: [1, 1] }],
        },
      ],
      initializers: [floats('pixel_weights', [3, 3, 1, 1], (i) => (Math.floor(i / 3) === i % 3 ? 10 : 0))],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 3, 'height', 'width'] }],
    },
    {
      model_type: 'segformer',
      architectures: ['SegformerForSemanticSegmentation'],
      ...labelMaps(COLOR_LABELS),
    },
    imageProcessor('SegformerImageProcessor', 32),
  );
}

/** DPT-shaped: depth = mean brightness per pixel, so a bright area reads as "far". */
export function writeDepthEstimator(dir: string): void {
  writeImageModel(
    dir,
    {
      nodes: [reduceMean('pixel_values', 'predicted_depth', [1], 0)],
      initializers: [],
      outputs: [{ name: 'predicted_depth', type: 'float32', shape: ['batch', 'height', 'width'] }],
    },
    { model_type: 'dpt', architectures: ['DPTForDepthEstimation'] },
    imageProcessor('DPTImageProcessor', 32),
  );
}

// Words the tiny tokenizers know; anything else becomes [UNK].
const WORDS = [
  'the',
  'a',
  'an',
  'is',
  'are',
  'of',
  'and',
  'in',
  'on',
  'this',
  'example',
  'zebra',
  'zebras',
  'giraffe',
  'cat',
  'dog',
  'horse',
  'animal',
  'animals',
  'sport',
  'sports',
  'politics',
  'music',
  'football',
  'game',
  'hello',
  'world',
  'hallo',
  'welt',
  'red',
  'green',
  'blue',
  'image',
  'picture',
  'photo',
  'short',
  'summary',
  'text',
  'translate',
  'to',
  'german',
  'english',
  'savanna',
  'two',
  'three',
  'many',
  '.',
  ',',
  '?',
  '!',
  'good',
  'great',
  'love',
  'bad',
  'awful',
  'hate',
  'i',
  'was',
  'movie',
  'alan',
  'turing',
  'lived',
  'paris',
  'berlin',
  'capital',
];
const SPECIAL = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
export const TINY_VOCAB = [...SPECIAL, ...WORDS];

/** A special token as tokenizer.json lists it; `strip` trims the spaces around it (wav2vec2's tokenizer does). */
const addedToken = (id: number, content: string, strip = false) => ({
  id,
  content,
  single_word: false,
  lstrip: strip,
  rstrip: strip,
  normalized: false,
  special: true,
});

function bertTokenizer(dir: string): void {
  const vocab = Object.fromEntries(TINY_VOCAB.map((token, index) => [token, index]));
  writeJson(dir, 'tokenizer.json', {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: SPECIAL.map((token, index) => addedToken(index, token)),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
      ],
      pair: [
        { SpecialToken: { id: '[CLS]', type_id: 0 } },
        { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } },
        { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } },
      ],
      special_tokens: {
        '[CLS]': { id: '[CLS]', ids: [2], tokens: ['[CLS]'] },
        '[SEP]': { id: '[SEP]', ids: [3], tokens: ['[SEP]'] },
      },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab,
    },
  });
  writeJson(dir, 'tokenizer_config.json', {
    tokenizer_class: 'BertTokenizer',
    do_lower_case: true,
    model_max_length: 128,
    unk_token: '[UNK]',
    sep_token: '[SEP]',
    pad_token: '[PAD]',
    cls_token: '[CLS]',
    mask_token: '[MASK]',
  });
}

const HIDDEN = 8;

function embeddingTable(seed: number): Tensor {
  const random = seededRandom(seed);
  return floats('embeddings', [TINY_VOCAB.length, HIDDEN], () => random() * 2 - 1);
}

const textInputs: ValueInfo[] = [
  { name: 'input_ids', type: 'int64', shape: ['batch', 'sequence'] },
  { name: 'attention_mask', type: 'int64', shape: ['batch', 'sequence'] },
];

/** A BERT-shaped text model: one graph reading the token ids, its config and the tiny tokenizer. */
function writeBertModel(dir: string, graph: Omit<Graph, 'inputs'>, config: Record<string, unknown>): void {
  writeModel(dir, { ...graph, inputs: textInputs }, { model_type: 'bert', ...config });
  bertTokenizer(dir);
}

/** BERT-shaped encoder: last_hidden_state = a seeded embedding per token (no attention). */
export function writeTextEmbedder(dir: string): void {
  writeBertModel(
    dir,
    {
      nodes: [{ op: 'Gather', inputs: ['embeddings', 'input_ids'], outputs: ['last_hidden_state'] }],
      initializers: [embeddingTable(7)],
      outputs: [{ name: 'last_hidden_state', type: 'float32', shape: ['batch', 'sequence', HIDDEN] }],
    },
    { architectures: ['BertModel'], hidden_size: HIDDEN },
  );
}

const wordId = (word: string): number => {
  const id = TINY_VOCAB.indexOf(word);
  if (id < 0) throw new Error(`"${word}" is not in the tiny vocabulary`);
  return id;
};

/** A table with one row per vocabulary token, zero except where `rows` says. */
function tokenTable(name: string, width: number, rows: Record<string, number[]>, fill = 0): Tensor {
  const data = new Float32Array(TINY_VOCAB.length * width).fill(fill);
  for (const [word, values] of Object.entries(rows)) data.set(values, wordId(word) * width);
  return { name, dims: [TINY_VOCAB.length, width], data };
}

/**
 * BERT-shaped sentiment classifier (NEGATIVE / POSITIVE): each word carries a polarity (+1 "love",
 * "great", "good"; -1 "hate", "awful", "bad"), averaged over the sentence and scaled into logits.
 */
export function writeSentimentClassifier(dir: string): void {
  const polarity: Record<string, number[]> = {};
  for (const word of ['good', 'great', 'love']) polarity[word] = [1];
  for (const word of ['bad', 'awful', 'hate']) polarity[word] = [-1];
  writeBertModel(
    dir,
    {
      nodes: [
        { op: 'Gather', inputs: ['polarity', 'input_ids'], outputs: ['tokens'] },
        reduceMean('tokens', 'sentence', [1], 0),
        { op: 'MatMul', inputs: ['sentence', 'classifier'], outputs: ['logits'] },
      ],
      initializers: [tokenTable('polarity', 1, polarity), floats('classifier', [1, 2], [-20, 20])],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 2] }],
    },
    {
      architectures: ['BertForSequenceClassification'],
      ...labelMaps(['NEGATIVE', 'POSITIVE']),
    },
  );
}

/** BERT-shaped named-entity tagger: "alan turing" is a person, "paris" and "berlin" are places. */
export function writeEntityTagger(dir: string): void {
  const labels = ['O', 'B-PER', 'I-PER', 'B-LOC'];
  const row = (label: string) => labels.map((candidate) => (candidate === label ? 10 : 0));
  const tags = tokenTable('tags', labels.length, {
    alan: row('B-PER'),
    turing: row('I-PER'),
    paris: row('B-LOC'),
    berlin: row('B-LOC'),
  });
  const table = tags.data as Float32Array;
  // Every other token is "O".
  for (let token = 0; token < TINY_VOCAB.length; token++) {
    const start = token * labels.length;
    if (table.subarray(start, start + labels.length).every((value) => value === 0)) table[start] = 10;
  }
  writeBertModel(
    dir,
    {
      nodes: [{ op: 'Gather', inputs: ['tags', 'input_ids'], outputs: ['logits'] }],
      initializers: [tags],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'sequence', labels.length] }],
    },
    {
      architectures: ['BertForTokenClassification'],
      ...labelMaps(labels),
    },
  );
}

/** BERT-shaped extractive question answering: the answer span is always the place name in the context. */
export function writeQuestionAnswerer(dir: string): void {
  const places = { paris: [10], berlin: [10] };
  writeBertModel(
    dir,
    {
      nodes: [
        { op: 'Gather', inputs: ['start_table', 'input_ids'], outputs: ['start_logits'] },
        { op: 'Gather', inputs: ['end_table', 'input_ids'], outputs: ['end_logits'] },
      ],
      initializers: [
        { ...tokenTable('start_table', 1, places), dims: [TINY_VOCAB.length] },
        { ...tokenTable('end_table', 1, places), dims: [TINY_VOCAB.length] },
      ],
      outputs: [
        { name: 'start_logits', type: 'float32', shape: ['batch', 'sequence'] },
        { name: 'end_logits', type: 'float32', shape: ['batch', 'sequence'] },
      ],
    },
    { architectures: ['BertForQuestionAnswering'] },
  );
}

/** BERT-shaped masked language model that fills [MASK] with "paris" (and copies every other token). */
export function writeMaskFiller(dir: string): void {
  const size = TINY_VOCAB.length;
  const table = new Float32Array(size * size);
  for (let token = 0; token < size; token++) table[token * size + token] = 10;
  const mask = wordId('[MASK]');
  table.fill(0, mask * size, (mask + 1) * size);
  table[mask * size + wordId('paris')] = 10;
  table[mask * size + wordId('berlin')] = 8;
  writeBertModel(
    dir,
    {
      nodes: [{ op: 'Gather', inputs: ['fill', 'input_ids'], outputs: ['logits'] }],
      initializers: [{ name: 'fill', dims: [size, size], data: table }],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'sequence', size] }],
    },
    { architectures: ['BertForMaskedLM'], vocab_size: size },
  );
}

/** BERT-shaped NLI classifier (entailment / neutral / contradiction) for zero-shot classification. */
export function writeZeroShotClassifier(dir: string): void {
  const random = seededRandom(11);
  writeBertModel(
    dir,
    {
      nodes: [
        { op: 'Gather', inputs: ['embeddings', 'input_ids'], outputs: ['tokens'] },
        reduceMean('tokens', 'sentence', [1], 0),
        { op: 'MatMul', inputs: ['sentence', 'classifier'], outputs: ['logits'] },
      ],
      initializers: [embeddingTable(13), floats('classifier', [HIDDEN, 3], () => random() * 4 - 2)],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 3] }],
    },
    {
      architectures: ['BertForSequenceClassification'],
      ...labelMaps(['entailment', 'neutral', 'contradiction']),
    },
  );
}

/**
 * Decoder logits for "always say `sentence`": a transition table where each token of the sentence is
 * followed by the next, and the last by [SEP] (end of sequence). Only the last token is looked at, which
 * is all transformers.js feeds a decoder without a key/value cache after the first step.
 */
function transitions(startToken: number, sentence: string[]): Tensor {
  const ids = sentence.map((word) => TINY_VOCAB.indexOf(word));
  if (ids.some((id) => id < 0)) throw new Error(`unknown word in "${sentence.join(' ')}"`);
  const size = TINY_VOCAB.length;
  const table = new Float32Array(size * size).fill(-10);
  const chain = [startToken, ...ids, 3];
  for (let i = 0; i + 1 < chain.length; i++)
    table[(chain[i] as number) * size + (chain[i + 1] as number)] = 10;
  // Any other token ends the sequence, so generation always stops.
  for (let row = 0; row < size; row++) {
    if (!chain.slice(0, -1).includes(row)) table[row * size + 3] = 10;
  }
  return { name: 'transitions', dims: [size, size], data: table };
}

/**
 * T5-shaped encoder-decoder that always answers `sentence` (e.g. "hallo welt" for a translation test).
 * The decoder also adds 0 x the encoder output, so both sessions run on every call.
 */
export function writeSeq2Seq(dir: string, sentence: string[]): void {
  mkdirSync(dir, { recursive: true });
  writeOnnx(dir, 'encoder_model.onnx', {
    nodes: [{ op: 'Gather', inputs: ['embeddings', 'input_ids'], outputs: ['last_hidden_state'] }],
    initializers: [embeddingTable(17)],
    inputs: textInputs,
    outputs: [{ name: 'last_hidden_state', type: 'float32', shape: ['batch', 'sequence', HIDDEN] }],
  });
  writeOnnx(dir, 'decoder_model_merged.onnx', {
    nodes: [
      { op: 'Gather', inputs: ['transitions', 'input_ids'], outputs: ['next'] },
      reduceMean('encoder_hidden_states', 'context', [1, 2], 1),
      { op: 'Mul', inputs: ['context', 'zero'], outputs: ['nothing'] },
      { op: 'Add', inputs: ['next', 'nothing'], outputs: ['logits'] },
    ],
    initializers: [transitions(0, sentence), floats('zero', [1], [0])],
    inputs: [
      { name: 'input_ids', type: 'int64', shape: ['batch', 'decoder_sequence'] },
      { name: 'encoder_hidden_states', type: 'float32', shape: ['batch', 'sequence', HIDDEN] },
    ],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'decoder_sequence', TINY_VOCAB.length] }],
  });
  writeJson(dir, 'config.json', {
    model_type: 't5',
    architectures: ['T5ForConditionalGeneration'],
    is_encoder_decoder: true,
    d_model: HIDDEN,
    d_kv: HIDDEN,
    num_heads: 1,
    num_layers: 1,
    num_decoder_layers: 1,
    vocab_size: TINY_VOCAB.length,
    decoder_start_token_id: 0,
    pad_token_id: 0,
    eos_token_id: 3,
  });
  writeJson(dir, 'generation_config.json', {
    decoder_start_token_id: 0,
    pad_token_id: 0,
    eos_token_id: 3,
    max_length: 16,
  });
  bertTokenizer(dir);
}

/**
 * Vision-encoder-decoder captioner: the encoder gives the image's mean colour, the decoder's first word
 * is that colour ("red", "green", "blue") and the second "image": a red picture is captioned "red image".
 */
export function writeCaptioner(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const size = TINY_VOCAB.length;
  const start = 2; // [CLS] starts decoding.
  const colourIds = COLOR_LABELS.map((word) => TINY_VOCAB.indexOf(word));
  const imageId = TINY_VOCAB.indexOf('image');
  const table = new Float32Array(size * size).fill(-10);
  for (let row = 0; row < size; row++) table[row * size + 3] = 10; // default: end
  table[start * size + 3] = -10;
  for (const id of colourIds) {
    table[id * size + 3] = -10;
    table[id * size + imageId] = 10;
  }
  // Only the start token lets the colour speak: gate[start] = 1, elsewhere 0.
  const gate = floats('gate', [size, 1], (i) => (i === start ? 1 : 0));
  const colourToWord = floats('colour_to_word', [3, size], (i) => {
    const channel = Math.floor(i / size);
    const word = i % size;
    return colourIds[channel] === word ? 20 : 0;
  });
  writeOnnx(dir, 'encoder_model.onnx', {
    nodes: [
      { op: 'GlobalAveragePool', inputs: ['pixel_values'], outputs: ['pooled'] },
      { op: 'Reshape', inputs: ['pooled', 'hidden_shape'], outputs: ['last_hidden_state'] },
    ],
    initializers: [int64s('hidden_shape', [-1, 1, 3])],
    inputs: [PIXEL_VALUES],
    outputs: [{ name: 'last_hidden_state', type: 'float32', shape: ['batch', 1, 3] }],
  });
  writeOnnx(dir, 'decoder_model_merged.onnx', {
    nodes: [
      { op: 'Gather', inputs: ['transitions', 'input_ids'], outputs: ['next'] },
      { op: 'Gather', inputs: ['gate', 'input_ids'], outputs: ['gated'] },
      { op: 'MatMul', inputs: ['encoder_hidden_states', 'colour_to_word'], outputs: ['colour_words'] },
      { op: 'Mul', inputs: ['gated', 'colour_words'], outputs: ['first_word'] },
      { op: 'Add', inputs: ['next', 'first_word'], outputs: ['logits'] },
    ],
    initializers: [{ ...transitionsFrom(table), name: 'transitions' }, gate, colourToWord],
    inputs: [
      { name: 'input_ids', type: 'int64', shape: ['batch', 'decoder_sequence'] },
      { name: 'encoder_hidden_states', type: 'float32', shape: ['batch', 1, 3] },
    ],
    outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'decoder_sequence', size] }],
  });
  writeJson(dir, 'config.json', {
    model_type: 'vision-encoder-decoder',
    architectures: ['VisionEncoderDecoderModel'],
    is_encoder_decoder: true,
    decoder_start_token_id: start,
    pad_token_id: 0,
    eos_token_id: 3,
    encoder: { model_type: 'vit', hidden_size: 3 },
    decoder: {
      model_type: 'gpt2',
      n_head: 1,
      n_layer: 1,
      n_embd: 3,
      vocab_size: size,
      is_decoder: true,
      add_cross_attention: true,
    },
  });
  writeJson(dir, 'generation_config.json', {
    decoder_start_token_id: start,
    bos_token_id: start,
    pad_token_id: 0,
    eos_token_id: 3,
    max_length: 8,
  });
  writeJson(dir, 'preprocessor_config.json', imageProcessor('ViTImageProcessor', 16));
  bertTokenizer(dir);
}

const transitionsFrom = (table: Float32Array): Tensor => ({
  name: 'transitions',
  dims: [TINY_VOCAB.length, TINY_VOCAB.length],
  data: table,
});

// Characters of the CTC model's vocabulary: [PAD] is the CTC blank, "|" separates words.
const CTC_VOCAB = ['<pad>', '<s>', '</s>', '<unk>', '|', 'e', 't', 'a', 'o', 'n'];
const CTC_FRAME = 320;

/**
 * wav2vec2-shaped CTC model: each 20 ms frame (320 samples at 16 kHz) is projected by seeded weights to
 * character logits. The text is gibberish, but real audio flows through the feature extractor, the ONNX
 * session and the CTC decoder.
 */
export function writeSpeechRecognizer(dir: string): void {
  const random = seededRandom(23);
  writeModel(
    dir,
    {
      nodes: [
        { op: 'Unsqueeze', inputs: ['input_values', 'channel_axis'], outputs: ['signal'] },
        {
          op: 'Conv',
          inputs: ['signal', 'frame_weights'],
          outputs: ['frames'],
          attributes: [
            { name: 'kernel_shape', ints: [CTC_FRAME] },
            { name: 'strides', ints: [CTC_FRAME] },
          ],
        },
        {
          op: 'Transpose',
          inputs: ['frames'],
          outputs: ['logits'],
          attributes: [{ name: 'perm', ints: [0, 2, 1] }],
        },
      ],
      initializers: [
        int64s('channel_axis', [1]),
        floats('frame_weights', [CTC_VOCAB.length, 1, CTC_FRAME], () => random() * 2 - 1),
      ],
      inputs: [{ name: 'input_values', type: 'float32', shape: ['batch', 'samples'] }],
      outputs: [{ name: 'logits', type: 'float32', shape: ['batch', 'frames', CTC_VOCAB.length] }],
    },
    {
      model_type: 'wav2vec2',
      architectures: ['Wav2Vec2ForCTC'],
      vocab_size: CTC_VOCAB.length,
      pad_token_id: 0,
    },
  );
  writeJson(dir, 'preprocessor_config.json', {
    feature_extractor_type: 'Wav2Vec2FeatureExtractor',
    feature_size: 1,
    sampling_rate: 16000,
    padding_value: 0,
    do_normalize: true,
    return_attention_mask: false,
  });
  writeJson(dir, 'tokenizer.json', {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: CTC_VOCAB.slice(0, 4).map((token, index) => addedToken(index, token, true)),
    normalizer: null,
    pre_tokenizer: null,
    post_processor: null,
    decoder: { type: 'CTC', pad_token: '<pad>', word_delimiter_token: '|', cleanup: true },
    model: {
      type: 'WordLevel',
      vocab: Object.fromEntries(CTC_VOCAB.map((token, index) => [token, index])),
      unk_token: '<unk>',
    },
  });
  writeJson(dir, 'tokenizer_config.json', {
    tokenizer_class: 'Wav2Vec2CTCTokenizer',
    pad_token: '<pad>',
    unk_token: '<unk>',
    bos_token: '<s>',
    eos_token: '</s>',
    word_delimiter_token: '|',
    do_lower_case: false,
  });
}

/** Model ids (under `<root>`) of every tiny model and the task each serves. */
export const TINY_MODELS = {
  imageClassifier: 'jarvis-tiny/colour-classifier',
  objectDetector: 'jarvis-tiny/colour-detector',
  depthEstimator: 'jarvis-tiny/brightness-depth',
  textEmbedder: 'jarvis-tiny/text-embedder',
  zeroShotClassifier: 'jarvis-tiny/nli-classifier',
  translator: 'jarvis-tiny/hallo-welt-translator',
  summarizer: 'jarvis-tiny/short-summarizer',
  captioner: 'jarvis-tiny/colour-captioner',
  speechRecognizer: 'jarvis-tiny/ctc-speech',
  sentimentClassifier: 'jarvis-tiny/word-sentiment',
  entityTagger: 'jarvis-tiny/name-tagger',
  maskFiller: 'jarvis-tiny/paris-filler',
  questionAnswerer: 'jarvis-tiny/place-finder',
  segmenter: 'jarvis-tiny/colour-segmenter',
} as const;

/** Writes every tiny model under `root` in the Hub's `<organisation>/<name>` layout. */
export function writeTinyModels(root: string): typeof TINY_MODELS {
  writeImageClassifier(join(root, TINY_MODELS.imageClassifier));
  writeObjectDetector(join(root, TINY_MODELS.objectDetector));
  writeDepthEstimator(join(root, TINY_MODELS.depthEstimator));
  writeTextEmbedder(join(root, TINY_MODELS.textEmbedder));
  writeZeroShotClassifier(join(root, TINY_MODELS.zeroShotClassifier));
  writeSeq2Seq(join(root, TINY_MODELS.translator), ['hallo', 'welt']);
  writeSeq2Seq(join(root, TINY_MODELS.summarizer), ['short', 'summary']);
  writeCaptioner(join(root, TINY_MODELS.captioner));
  writeSpeechRecognizer(join(root, TINY_MODELS.speechRecognizer));
  writeSentimentClassifier(join(root, TINY_MODELS.sentimentClassifier));
  writeEntityTagger(join(root, TINY_MODELS.entityTagger));
  writeMaskFiller(join(root, TINY_MODELS.maskFiller));
  writeQuestionAnswerer(join(root, TINY_MODELS.questionAnswerer));
  writeSegmenter(join(root, TINY_MODELS.segmenter));
  return TINY_MODELS;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const target = process.argv[2];
  if (!target) {
    console.error('usage: node --import tsx scripts/make-tiny-onnx.ts <folder>');
    process.exit(2);
  }
  writeTinyModels(resolve(target));
  console.log(`tiny ONNX models written under ${resolve(target)}: ${Object.values(TINY_MODELS).join(', ')}`);
}
