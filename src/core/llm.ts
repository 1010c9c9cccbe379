/** The stages that call the controller LLM; usage is counted per stage. */
export type LlmStage = 'plan' | 'select' | 'execute' | 'respond' | 'chat';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
}

export interface ChatRequest {
  stage: LlmStage;
  messages: ChatMessage[];
  /** Ask for JSON matching this schema where the provider supports it; the reply is still text. */
  jsonSchema?: { name: string; schema: Record<string, unknown> };
  /**
   * For controllers that constrain decoding with llama.cpp grammars (the embedded model): the reply written
   * in steps, each under a grammar chosen from what the reply says so far, for rules no single grammar can
   * follow. Takes precedence over `jsonSchema` there; others ignore it. Must accept only replies `jsonSchema`'s reader
   * accepts.
   */
  grammarSteps?: GrammarSteps;
  /** Called with each piece of streamed text; without it the reply is not streamed. */
  onDelta?: (text: string) => void;
  maxOutputTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
}

/** A reply written in steps under grammars; see `ChatRequest.grammarSteps`. */
export interface GrammarSteps {
  /**
   * The GBNF grammar (llama.cpp's grammar format) of the next piece of the reply, given the reply so far
   * ('' at first); undefined when the reply is complete.
   */
  next(replySoFar: string): string | undefined;
  /** Most steps; a reply not complete by then is returned as it stands. */
  maxSteps: number;
}

export interface ChatResult {
  text: string;
  usage: TokenUsage;
}

/** The controller: any chat model Jarvis can talk to. Implementations live in `src/llm`. */
export interface ControllerModel {
  /** "provider:model", for reports. */
  readonly id: string;
  /** Context window in tokens, used to trim chat history. */
  readonly contextTokens: number;
  chat(request: ChatRequest): Promise<ChatResult>;
}

/** Roughly four characters per token: good enough to trim history, never used for billing. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}
