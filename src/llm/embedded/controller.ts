import { basename } from 'node:path';
import type {
  ChatHistoryItem,
  GbnfJsonSchema,
  LLamaChatGenerateResponseOptions,
  LlamaChat,
  LlamaGrammar,
} from 'node-llama-cpp';
import { CancelledError, ConfigError, errorMessage, JarvisError, LlmError } from '../../core/errors.js';
import type { ChatMessage, ChatRequest, ChatResult, ControllerModel, GrammarSteps } from '../../core/llm.js';
import { boundJsonSchema, type SchemaLimits } from './bounded-schema.js';
import { type ResolveModelOptions, resolveModelPath } from './model-file.js';
import { defaultThreads, type LoadedModel, loadSharedModel, runExclusive } from './runtime.js';

export interface EmbeddedControllerOptions {
  /** A GGUF file path, or a model reference (`hf:owner/repo:quant`, a URL) downloaded once into `cacheDir`. */
  model: string;
  /** Where downloaded models are kept. */
  cacheDir: string;
  /** CPU threads; half the logical cores by default (see `defaultThreads`). */
  threads?: number;
  /** Never download: a reference that is not in the cache is a ConfigError that says what to do. */
  offline?: boolean;
  /** Download and load progress, one line at a time. */
  onProgress?: (message: string) => void;
  /** Largest context to allocate, in tokens (default 8192); the model's trained context caps it. */
  maxContextTokens?: number;
  /** Load the model now instead of on the first call. */
  preload?: boolean;
  /** Sampling temperature when a request gives none (default 0: the most likely token). */
  temperature?: number;
  /** Bounds added to JSON schemas so that every grammar ends. */
  schemaLimits?: Partial<SchemaLimits>;
  /** The Hub or a mirror for downloads (`inference.hubUrl`, HF_ENDPOINT). */
  hubUrl?: string;
  /** Hugging Face token for gated or private models. */
  token?: string;
}

const DEFAULT_MAX_CONTEXT_TOKENS = 8192;
/** Grammars kept per controller: a plan's step grammars are few, and each compiles in milliseconds. */
const MAX_CACHED_GRAMMARS = 64;

/** The context length a GGUF model was trained for, read from its header. */
export async function trainedContextTokens(path: string): Promise<number> {
  const { readGgufFileInfo } = await import('node-llama-cpp');
  try {
    const info = await readGgufFileInfo(path, { readTensorInfo: false, logWarnings: false });
    const length = (info.architectureMetadata as { context_length?: number }).context_length;
    return typeof length === 'number' && length > 0 ? length : DEFAULT_MAX_CONTEXT_TOKENS;
  } catch (error) {
    throw new ConfigError(`${path} is not a readable GGUF model: ${errorMessage(error)}`, { model: path });
  }
}

/**
 * Chat messages as node-llama-cpp's history. System messages are merged into one at the start because many
 * chat templates accept a system message only there; a trailing assistant message is continued.
 */
function toHistory(messages: ChatMessage[]): ChatHistoryItem[] {
  const system = messages
    .filter((message) => message.role === 'system')
    .map((message) => message.content)
    .join('\n\n');
  const history: ChatHistoryItem[] = system ? [{ type: 'system', text: system }] : [];
  for (const message of messages) {
    if (message.role === 'user') history.push({ type: 'user', text: message.content });
    else if (message.role === 'assistant') history.push({ type: 'model', response: [message.content] });
  }
  if (history.at(-1)?.type !== 'model') history.push({ type: 'model', response: [] });
  return history;
}

export type StepOptions = Pick<
  LLamaChatGenerateResponseOptions,
  | 'temperature'
  | 'seed'
  | 'signal'
  | 'stopOnAbortSignal'
  | 'budgets'
  | 'repeatPenalty'
  | 'onTextChunk'
  | 'tokenBias'
> & {
  /** Tokens for the whole reply, all steps together. */
  maxTokens: number;
  /** The compiled grammar of a step's GBNF text. */
  grammarFor: (gbnf: string) => Promise<LlamaGrammar>;
};

/**
 * Writes a reply in steps (see `GrammarSteps`): each step continues the same model response under the
 * grammar `steps` gives for the reply so far, so the context sequence keeps what it evaluated and only the
 * new text is read. Ends when `steps` says the reply is complete, when a step writes nothing (the token
 * budget is spent) or after `steps.maxSteps`; returns the reply as written.
 */
export async function generateInSteps(
  chat: LlamaChat,
  history: ChatHistoryItem[],
  steps: GrammarSteps,
  { grammarFor, maxTokens, ...settings }: StepOptions,
): Promise<string> {
  const last = history.at(-1);
  const before = last?.type === 'model' ? last.response : [];
  const earlier = last?.type === 'model' ? history.slice(0, -1) : history;
  let reply = '';
  let spent = 0;
  for (let step = 0; step < steps.maxSteps && spent < maxTokens; step++) {
    const gbnf = steps.next(reply);
    if (gbnf === undefined) break;
    const grammar = await grammarFor(gbnf);
    const response = await chat.generateResponse(
      [...earlier, { type: 'model', response: reply ? [...before, reply] : [...before] }],
      { ...settings, grammar, maxTokens: maxTokens - spent },
    );
    if (response.response === '') break;
    reply += response.response;
    spent += chat.model.tokenizer(response.response).length;
  }
  return reply;
}

function resolveOptions(options: EmbeddedControllerOptions, signal?: AbortSignal): ResolveModelOptions {
  return {
    cacheDir: options.cacheDir,
    ...(options.offline === undefined ? {} : { offline: options.offline }),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    ...(options.hubUrl ? { hubUrl: options.hubUrl } : {}),
    ...(options.token ? { token: options.token } : {}),
    ...(signal ? { signal } : {}),
  };
}

function isAbort(error: unknown, signal: AbortSignal | undefined): boolean {
  if (signal?.aborted) return true;
  return error instanceof Error && (error.name === 'AbortError' || error.name === 'CancelledError');
}

/**
 * The controller running in this process on a GGUF model through node-llama-cpp: no server, no key.
 * The request's grammar steps, else its `jsonSchema` (bounded, so that generation always ends), constrain
 * the reply, so every reply parses.
 */
export async function createEmbeddedController(options: EmbeddedControllerOptions): Promise<ControllerModel> {
  const threads = options.threads ?? defaultThreads();
  const path = await resolveModelPath(options.model, resolveOptions(options));
  const maxContextTokens = options.maxContextTokens ?? DEFAULT_MAX_CONTEXT_TOKENS;
  // The header says how long a context the model was trained for, without loading gigabytes of weights.
  let contextTokens = Math.min(await trainedContextTokens(path), maxContextTokens);
  let loading: Promise<LoadedModel> | undefined;

  /** The model is loaded on the first call, so that commands that never chat (doctor, models) stay fast. */
  function load(): Promise<LoadedModel> {
    loading ??= loadSharedModel(path, { threads, maxContextTokens }).then(
      (loaded) => {
        contextTokens = loaded.context.contextSize;
        return loaded;
      },
      (error: unknown) => {
        loading = undefined;
        throw new LlmError(`Cannot load the local model ${path}: ${errorMessage(error)}`, {
          cause: error,
          context: { model: path },
        });
      },
    );
    return loading;
  }
  if (options.preload) await load();
  /** Compiled grammars, kept for the next calls (a plan's schema and step grammars repeat); the oldest go first. */
  const grammars = new Map<string, Promise<LlamaGrammar>>();
  function cachedGrammar(key: string, compile: () => Promise<LlamaGrammar>): Promise<LlamaGrammar> {
    let grammar = grammars.get(key);
    if (!grammar) {
      if (grammars.size >= MAX_CACHED_GRAMMARS) grammars.delete(grammars.keys().next().value!);
      grammar = compile();
      grammars.set(key, grammar);
      grammar.catch(() => grammars.delete(key));
    }
    return grammar;
  }

  const grammarFor = (loaded: LoadedModel, schema: Record<string, unknown>) =>
    cachedGrammar(`json:${JSON.stringify(schema)}`, () =>
      loaded.model.llama.createGrammarForJsonSchema<GbnfJsonSchema>(
        boundJsonSchema(schema, options.schemaLimits),
      ),
    );
  const gbnfGrammarFor = (loaded: LoadedModel, gbnf: string) =>
    cachedGrammar(`gbnf:${gbnf}`, () => loaded.model.llama.createGrammar({ grammar: gbnf }));

  async function generate(loaded: LoadedModel, request: ChatRequest): Promise<ChatResult> {
    const history = toHistory(request.messages);
    const schema = request.grammarSteps ? undefined : request.jsonSchema;
    const grammar = schema ? await grammarFor(loaded, schema.schema) : undefined;
    const prompt = loaded.chat.chatWrapper.generateContextState({ chatHistory: history }).contextText;
    const inputTokens = prompt.tokenize(loaded.model.tokenizer).length;
    if (inputTokens >= contextTokens) {
      throw new LlmError(
        `The prompt (${inputTokens} tokens) does not fit the local model's context of ${contextTokens} tokens.`,
        { context: { model: path, inputTokens, contextTokens } },
      );
    }
    // Without a limit a model that never says "stop" would fill the whole context.
    const room = contextTokens - inputTokens;
    const maxTokens = Math.max(1, Math.min(request.maxOutputTokens ?? room, room));
    const meterBefore = loaded.sequence.tokenMeter.getState();
    const constrained = grammar !== undefined || request.grammarSteps !== undefined;
    const settings = {
      temperature: request.temperature ?? options.temperature ?? 0,
      ...(request.signal ? { signal: request.signal, stopOnAbortSignal: false } : {}),
      // Thinking models would spend the budget before the JSON starts; a schema reply needs no thoughts. JSON
      // repeats its punctuation and `null` by nature: a repeat penalty would push the model off them.
      ...(constrained ? { budgets: { thoughtTokens: 0 }, repeatPenalty: false as const } : {}),
      ...(request.onDelta
        ? {
            onTextChunk: (text: string) => {
              if (text) request.onDelta?.(text);
            },
          }
        : {}),
    };
    const text = request.grammarSteps
      ? await generateInSteps(loaded.chat, history, request.grammarSteps, {
          ...settings,
          maxTokens,
          grammarFor: (gbnf) => gbnfGrammarFor(loaded, gbnf),
        })
      : (
          await loaded.chat.generateResponse(history, {
            ...settings,
            ...(grammar ? { grammar } : {}),
            maxTokens,
          })
        ).response;
    // The meter counts every generated token, thoughts included; the prompt is counted whole even when
    // most of it was still in the context from the previous call.
    const { usedOutputTokens } = loaded.sequence.tokenMeter.diff(meterBefore);
    return { text, usage: { inputTokens, outputTokens: usedOutputTokens } };
  }

  async function chat(request: ChatRequest): Promise<ChatResult> {
    if (request.signal?.aborted) throw new CancelledError('The LLM call');
    const loaded = await load();
    try {
      return await runExclusive(loaded, () => generate(loaded, request), request.signal);
    } catch (error) {
      if (isAbort(error, request.signal)) throw new CancelledError('The LLM call');
      if (error instanceof JarvisError) throw error;
      throw new LlmError(`The local model ${basename(path)} failed: ${(error as Error).message}`, {
        cause: error,
        context: { model: path },
      });
    }
  }

  return {
    id: `embedded:${basename(path).replace(/\.gguf$/i, '')}`,
    get contextTokens() {
      return contextTokens;
    },
    chat,
  };
}

/**
 * The embedded controller for a model reference that is not downloaded yet: nothing happens until the first
 * call, which downloads the model (concurrent first calls share one download) and then runs it. So commands
 * that never ask the LLM (`--help`, `models`, `doctor`, a given plan with `--select top --no-answer`) never
 * download gigabytes. A caller that gives up (its signal) stops waiting; the download stops only when no
 * caller waits any more, and the next call resumes it.
 */
export function createDeferredEmbeddedController(
  options: EmbeddedControllerOptions & { id: string },
): ControllerModel {
  let inner: Promise<ControllerModel> | undefined;
  let ready: ControllerModel | undefined;

  async function controller(signal: AbortSignal | undefined): Promise<ControllerModel> {
    if (inner) return inner;
    const path = await resolveModelPath(options.model, resolveOptions(options, signal));
    inner ??= createEmbeddedController({ ...options, model: path }).then(
      (created) => {
        ready = created;
        return created;
      },
      (error: unknown) => {
        inner = undefined;
        throw error;
      },
    );
    return inner;
  }

  return {
    get id() {
      return ready?.id ?? options.id;
    },
    get contextTokens() {
      return ready?.contextTokens ?? options.maxContextTokens ?? DEFAULT_MAX_CONTEXT_TOKENS;
    },
    async chat(request) {
      if (request.signal?.aborted) throw new CancelledError('The LLM call');
      return (await controller(request.signal)).chat(request);
    },
  };
}
