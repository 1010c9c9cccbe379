import { type ChatMessage, estimateTokens } from './llm.js';

/** Tokens a chat message costs besides its content (role, separators). */
export const MESSAGE_OVERHEAD_TOKENS = 4;

export const messagesTokens = (messages: readonly ChatMessage[]): number =>
  messages.reduce((total, message) => total + estimateTokens(message.content) + MESSAGE_OVERHEAD_TOKENS, 0);

/** Tokens kept free for the reply: a quarter of a small context, at most 2,048. */
export function replyReserve(contextTokens: number): number {
  return Math.min(2_048, Math.floor(contextTokens / 4));
}

const marker = (cut: number) => `\n[... ${cut} characters cut here to fit the model's context ...]\n`;

/**
 * `text` in at most `maxChars` characters: its start and its end kept (a request's question is often at the
 * end), the middle replaced by a marker that says how much was cut.
 */
export function cutMiddle(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const keep = Math.max(0, maxChars - marker(text.length).length);
  const head = Math.ceil(keep * 0.6);
  const tail = keep - head;
  return `${text.slice(0, head)}${marker(text.length - keep)}${tail > 0 ? text.slice(-tail) : ''}`;
}

export interface FitOptions {
  /** The instructions: never cut. */
  system: ChatMessage;
  /** Earlier turns, oldest first: left out oldest first when they do not fit. */
  history?: readonly ChatMessage[];
  /**
   * The last message, built from texts that may be cut (the request, results) once history is gone: each
   * such text goes through `cut`, in the same order on every call.
   */
  build: (cut: (text: string) => string) => string;
  contextTokens: number;
  /** What the cut texts are, for the notice ("the request"). */
  what: string;
}

export interface Fitted {
  messages: ChatMessage[];
  /** One sentence per kind of cut, for the user; empty when everything fit. */
  notices: string[];
}

/**
 * Room shared fairly: short texts keep their length, the rest split what is left evenly (a short request
 * stays whole beside long results).
 */
function shareRoom(lengths: readonly number[], room: number): number[] {
  const allowed = lengths.map(() => 0);
  const order = lengths.map((_, index) => index).sort((a, b) => lengths[a]! - lengths[b]!);
  let left = room;
  order.forEach((index, position) => {
    const fair = Math.floor(left / (order.length - position));
    allowed[index] = Math.min(lengths[index]!, fair);
    left -= allowed[index]!;
  });
  return allowed;
}

/**
 * Fits a stage's messages into the controller's context (minus room for the reply): the system prompt is
 * kept whole; older history is left out first; then the texts the last message is built from are cut in
 * the middle, sharing the room left, with a marker the LLM can see.
 */
export function fitMessages(options: FitOptions): Fitted {
  const budget = options.contextTokens - replyReserve(options.contextTokens);
  const notices: string[] = [];
  const whole = (text: string) => text;
  const last = (content: string): ChatMessage => ({ role: 'user', content });
  let history = [...(options.history ?? [])];
  const fits = (messages: ChatMessage[]) => messagesTokens(messages) <= budget;
  const full = last(options.build(whole));
  const dropped = history.length;
  while (history.length > 0 && !fits([options.system, ...history, full])) history = history.slice(1);
  if (history.length < dropped) {
    const count = dropped - history.length;
    notices.push(
      `${count} earlier message${count === 1 ? '' : 's'} of the conversation left out to fit the controller's context of ${options.contextTokens} tokens.`,
    );
  }
  if (fits([options.system, ...history, full])) {
    return { messages: [options.system, ...history, full], notices };
  }
  // Characters left for the cut texts: four per token, as estimateTokens counts, less what else is there.
  const bare = last(options.build(() => ''));
  const room = Math.max(0, (budget - messagesTokens([options.system, ...history, bare])) * 4);
  const lengths: number[] = [];
  options.build((text) => {
    lengths.push(text.length);
    return text;
  });
  const total = lengths.reduce((sum, length) => sum + length, 0);
  const allowed = shareRoom(lengths, room);
  let call = 0;
  const message = last(options.build((text) => cutMiddle(text, allowed[call++] ?? 0)));
  notices.push(
    `${options.what} (${total} characters) is longer than the controller's context of ${options.contextTokens} tokens allows: its middle was cut, with a marker, to fit.`,
  );
  return { messages: [options.system, ...history, message], notices };
}
