/**
 * Writes a tiny but valid GGUF chat model: llama architecture, random weights, a byte-level vocabulary
 * (every UTF-8 byte is a token, so any text tokenizes) and a ChatML chat template. It lets tests load a
 * model through node-llama-cpp's real code path without downloading anything; what it says is ASCII noise,
 * but under a JSON-schema grammar that noise is always schema-valid JSON.
 *
 * Usage: node --import tsx scripts/make-tiny-gguf.ts OUT.gguf
 */
import { writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { seededRandom } from './seeded-random.js';

export interface TinyGgufOptions {
  /**
   * Context the model claims to be trained for; node-llama-cpp sizes its context from it. Large by default
   * because every byte of a prompt is a token with this vocabulary.
   */
  contextLength?: number;
  embeddingLength?: number;
  blockCount?: number;
  /** Seed of the weights, so that a test sees the same model every run. */
  seed?: number;
  /**
   * ASCII characters the model prefers wherever a grammar lets it write them (e.g. "<" to steer it into
   * references). Without it the weights are exactly those of the seed alone.
   */
  favour?: string;
}

const ALIGNMENT = 32;

// GGUF metadata value types.
const UINT32 = 4;
const INT32 = 5;
const FLOAT32 = 6;
const BOOL = 7;
const STRING = 8;
const ARRAY = 9;
// GGML tensor type of plain 32-bit floats.
const GGML_F32 = 0;

// llama.cpp token types.
const TOKEN_NORMAL = 1;
const TOKEN_UNKNOWN = 2;
const TOKEN_CONTROL = 3;
const TOKEN_BYTE = 6;

const CHATML_TEMPLATE =
  "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}" +
  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

type MetadataValue =
  | { type: typeof UINT32; value: number }
  | { type: typeof INT32; value: number }
  | { type: typeof FLOAT32; value: number }
  | { type: typeof BOOL; value: boolean }
  | { type: typeof STRING; value: string }
  | { type: typeof ARRAY; items: typeof STRING; value: string[] }
  | { type: typeof ARRAY; items: typeof INT32 | typeof FLOAT32; value: number[] };

/** Grows as it is written to; GGUF is little-endian throughout. */
class ByteWriter {
  private buffer = Buffer.alloc(1 << 16);
  length = 0;

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const next = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(next, 0, 0, this.length);
    this.buffer = next;
  }
  u32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeUInt32LE(value, this.length);
  }
  i32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeInt32LE(value, this.length);
  }
  u64(value: number): void {
    this.reserve(8);
    this.length = this.buffer.writeBigUInt64LE(BigInt(value), this.length);
  }
  f32(value: number): void {
    this.reserve(4);
    this.length = this.buffer.writeFloatLE(value, this.length);
  }
  string(value: string): void {
    const bytes = Buffer.from(value, 'utf8');
    this.u64(bytes.length);
    this.bytes(bytes);
  }
  bytes(value: Uint8Array): void {
    this.reserve(value.length);
    this.buffer.set(value, this.length);
    this.length += value.length;
  }
  padTo(alignment: number): void {
    const padding = (alignment - (this.length % alignment)) % alignment;
    this.bytes(new Uint8Array(padding));
  }
  result(): Buffer {
    return this.buffer.subarray(0, this.length);
  }
}

/** The vocabulary: unknown, begin, end, the ChatML markers, the SentencePiece space and all 256 bytes. */
function vocabulary(): { tokens: string[]; types: number[] } {
  const tokens = ['<unk>', '<s>', '</s>', '<|im_start|>', '<|im_end|>', '\u2581'];
  const types = [TOKEN_UNKNOWN, TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_CONTROL, TOKEN_NORMAL];
  for (let byte = 0; byte < 256; byte++) {
    tokens.push(`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`);
    types.push(TOKEN_BYTE);
  }
  return { tokens, types };
}

/** The bytes of a tiny GGUF model; see the file comment. */
export function tinyGguf(options: TinyGgufOptions = {}): Buffer {
  const contextLength = options.contextLength ?? 32_768;
  const embedding = options.embeddingLength ?? 64;
  const blocks = options.blockCount ?? 1;
  const heads = 4;
  const feedForward = embedding * 2;
  const next = seededRandom(options.seed ?? 1);
  const { tokens, types } = vocabulary();
  const vocabularySize = tokens.length;

  const metadata: [string, MetadataValue][] = [
    ['general.architecture', { type: STRING, value: 'llama' }],
    ['general.name', { type: STRING, value: 'jarvis-tiny-test-model' }],
    ['general.alignment', { type: UINT32, value: ALIGNMENT }],
    ['llama.context_length', { type: UINT32, value: contextLength }],
    ['llama.embedding_length', { type: UINT32, value: embedding }],
    ['llama.block_count', { type: UINT32, value: blocks }],
    ['llama.feed_forward_length', { type: UINT32, value: feedForward }],
    ['llama.attention.head_count', { type: UINT32, value: heads }],
    ['llama.attention.head_count_kv', { type: UINT32, value: heads }],
    ['llama.attention.layer_norm_rms_epsilon', { type: FLOAT32, value: 1e-5 }],
    ['llama.rope.dimension_count', { type: UINT32, value: embedding / heads }],
    ['llama.vocab_size', { type: UINT32, value: vocabularySize }],
    ['tokenizer.ggml.model', { type: STRING, value: 'llama' }],
    ['tokenizer.ggml.tokens', { type: ARRAY, items: STRING, value: tokens }],
    ['tokenizer.ggml.scores', { type: ARRAY, items: FLOAT32, value: tokens.map(() => 0) }],
    ['tokenizer.ggml.token_type', { type: ARRAY, items: INT32, value: types }],
    ['tokenizer.ggml.bos_token_id', { type: UINT32, value: 1 }],
    // The end of a ChatML turn ends generation.
    ['tokenizer.ggml.eos_token_id', { type: UINT32, value: 4 }],
    ['tokenizer.ggml.unknown_token_id', { type: UINT32, value: 0 }],
    ['tokenizer.ggml.add_bos_token', { type: BOOL, value: false }],
    ['tokenizer.ggml.add_space_prefix', { type: BOOL, value: false }],
    ['tokenizer.chat_template', { type: STRING, value: CHATML_TEMPLATE }],
  ];

  // ggml lists dimensions innermost first: a [rows x columns] matrix is [columns, rows].
  const tensors: { name: string; shape: number[]; norm?: boolean }[] = [
    { name: 'token_embd.weight', shape: [embedding, vocabularySize] },
    { name: 'output_norm.weight', shape: [embedding], norm: true },
    { name: 'output.weight', shape: [embedding, vocabularySize] },
  ];
  for (let block = 0; block < blocks; block++) {
    const prefix = `blk.${block}`;
    tensors.push(
      { name: `${prefix}.attn_norm.weight`, shape: [embedding], norm: true },
      { name: `${prefix}.attn_q.weight`, shape: [embedding, embedding] },
      { name: `${prefix}.attn_k.weight`, shape: [embedding, embedding] },
      { name: `${prefix}.attn_v.weight`, shape: [embedding, embedding] },
      { name: `${prefix}.attn_output.weight`, shape: [embedding, embedding] },
      { name: `${prefix}.ffn_norm.weight`, shape: [embedding], norm: true },
      { name: `${prefix}.ffn_gate.weight`, shape: [embedding, feedForward] },
      { name: `${prefix}.ffn_up.weight`, shape: [embedding, feedForward] },
      { name: `${prefix}.ffn_down.weight`, shape: [feedForward, embedding] },
    );
  }

  const out = new ByteWriter();
  out.bytes(Buffer.from('GGUF', 'ascii'));
  out.u32(3);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, entry] of metadata) {
    out.string(key);
    out.u32(entry.type);
    if (entry.type === STRING) out.string(entry.value);
    else if (entry.type === BOOL) out.bytes(Uint8Array.of(entry.value ? 1 : 0));
    else if (entry.type === UINT32) out.u32(entry.value);
    else if (entry.type === INT32) out.i32(entry.value);
    else if (entry.type === FLOAT32) out.f32(entry.value);
    else if (entry.type === ARRAY) {
      out.u32(entry.items);
      out.u64(entry.value.length);
      for (const item of entry.value) {
        if (typeof item === 'string') out.string(item);
        else if (entry.items === INT32) out.i32(item);
        else out.f32(item);
      }
    }
  }

  let offset = 0;
  const offsets: number[] = [];
  for (const tensor of tensors) {
    const bytes = tensor.shape.reduce((product, size) => product * size, 4);
    offsets.push(offset);
    offset += Math.ceil(bytes / ALIGNMENT) * ALIGNMENT;
  }
  tensors.forEach((tensor, index) => {
    out.string(tensor.name);
    out.u32(tensor.shape.length);
    for (const size of tensor.shape) out.u64(size);
    out.u32(GGML_F32);
    out.u64(offsets[index]!);
  });

  // Tokens the model may say: ASCII bytes, the space and the end of a turn. Their output rows are large, so
  // they always outrank the others, whose rows are zero: lone UTF-8 continuation bytes would make invalid
  // text, and characters whose length JavaScript and the grammar count differently.
  const speakable = new Set(
    tokens.map((token, id) => (/^<0x[0-7]/.test(token) || id === 4 || id === 5 ? id : -1)),
  );
  const favoured = new Set(
    [...(options.favour ?? '')].map((character) =>
      tokens.indexOf(`<0x${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}>`),
    ),
  );
  favoured.delete(-1);
  out.padTo(ALIGNMENT);
  for (const tensor of tensors) {
    const count = tensor.shape.reduce((product, size) => product * size, 1);
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) {
      // Norm weights of one keep activations in range; the rest are uniform noise.
      if (tensor.norm) values[index] = 1;
      else if (tensor.name !== 'output.weight') values[index] = (next() - 0.5) * 0.2;
      else values[index] = speakable.has(Math.floor(index / embedding)) ? (next() - 0.5) * 6 : 0;
      if (favoured.size === 0 || index % embedding !== 0) continue;
      // Favouring: every token embedding holds a constant in its first dimension, which the residual stream
      // carries to the output, where the rows of the favoured bytes turn it into a large logit.
      if (tensor.name === 'token_embd.weight') values[index] = 4;
      else if (tensor.name === 'output.weight') values[index] = favoured.has(index / embedding) ? 8 : 0;
    }
    out.bytes(new Uint8Array(values.buffer));
    out.padTo(ALIGNMENT);
  }
  return out.result();
}

/** Writes the tiny model to `path` and returns the path. */
export function writeTinyGguf(path: string, options: TinyGgufOptions = {}): string {
  writeFileSync(path, tinyGguf(options));
  return path;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const target = process.argv[2];
  if (!target) {
    console.error('Usage: node --import tsx scripts/make-tiny-gguf.ts OUT.gguf');
    process.exit(2);
  }
  writeTinyGguf(target);
  console.log(`Wrote ${target}`);
}
