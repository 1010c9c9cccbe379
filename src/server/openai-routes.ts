import { createHash } from 'node:crypto';
import type { Hono } from 'hono';
import { streamSSE } from 'hono/streaming';
import { z } from 'zod';
import { InputError, JarvisError } from '../core/errors.js';
import type { RunResult } from '../core/events.js';
import type { ChatMessage } from '../core/llm.js';
import { historyEntry } from '../run/history.js';
import type { AppEnv } from './app.js';
import { fileUrlsOf, type ServerContext, startConversationRun } from './context.js';
import { badRequest, describeError, errorBody, errorResponse, HttpError, readJson } from './http-errors.js';
import { summarizeEvents, withFileUrls } from './presenter.js';
import type { ActiveRun } from './run-manager.js';
import { saveUpload } from './upload-routes.js';

/**
 * `POST /v1/chat/completions` in OpenAI's format, so any OpenAI client or chat UI can talk to Jarvis under
 * the model name `jarvis`. The last user message is the request and the earlier ones its history. Besides
 * the answer, each reply carries a `jarvis` object (run id, plan, task results with file URLs), and the
 * `x-jarvis-run-id` header names the run for `GET /v1/runs/:id`.
 */

export const MODEL_NAME = 'jarvis';

const contentPart = z.union([
  z.object({ type: z.literal('text'), text: z.string() }),
  z.object({
    type: z.literal('image_url'),
    image_url: z.union([z.string(), z.object({ url: z.string() })]),
  }),
  z.object({
    type: z.literal('input_audio'),
    input_audio: z.object({ data: z.string(), format: z.string() }),
  }),
]);

const chatBody = z.object({
  model: z.string().optional(),
  messages: z
    .array(
      z.object({
        role: z.enum(['system', 'user', 'assistant', 'developer', 'tool']),
        content: z.union([z.string(), z.array(contentPart), z.null()]).optional(),
      }),
    )
    .min(1),
  stream: z.boolean().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullish(),
  /** Jarvis extension: continue this stored conversation. */
  conversation_id: z.string().max(100).optional(),
});

type ChatBody = z.infer<typeof chatBody>;

/**
 * The text of all messages together, in characters. Far beyond any controller's context (a 128k-token model
 * reads roughly 500 KB of text), so only mistakes and abuse reach it; images sent inline do not count.
 */
export const MAX_MESSAGES_TEXT = 1024 * 1024;

/** Characters of text in the messages: string contents, text parts and image URLs that are not inline. */
function textLength(messages: ChatBody['messages']): number {
  let total = 0;
  for (const { content } of messages) {
    if (typeof content === 'string') total += content.length;
    else if (Array.isArray(content)) {
      for (const part of content) {
        if (part.type === 'text') total += part.text.length;
        else if (part.type === 'image_url') {
          const url = typeof part.image_url === 'string' ? part.image_url : part.image_url.url;
          if (!url.startsWith('data:')) total += url.length;
        }
      }
    }
  }
  return total;
}

const DATA_URL = /^data:([\w.+-]+\/[\w.+-]+)?(;[\w-]+=[^;,]*)*;base64,([A-Za-z0-9+/=\s]+)$/;

/** Text of a message; images sent inline (data URLs) become uploads, image URLs stay as text. */
async function flatten(
  context: ServerContext,
  content: ChatBody['messages'][number]['content'],
  uploads: string[],
): Promise<string> {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  const texts: string[] = [];
  for (const part of content) {
    if (part.type === 'text') {
      texts.push(part.text);
      continue;
    }
    const base64 =
      part.type === 'image_url'
        ? (() => {
            const url = typeof part.image_url === 'string' ? part.image_url : part.image_url.url;
            const match = DATA_URL.exec(url);
            if (!match) {
              texts.push(url);
              return undefined;
            }
            return match[3]!;
          })()
        : part.input_audio.data;
    if (base64 === undefined) continue;
    const bytes = Buffer.from(base64.replace(/\s+/g, ''), 'base64');
    const upload = await saveUpload(
      context,
      bytes,
      part.type === 'image_url' ? 'image' : `audio.${part.input_audio.format}`,
    );
    uploads.push(upload.id);
  }
  return texts.join('\n');
}

const created = () => Math.floor(Date.now() / 1000);

/**
 * OpenAI clients resend the whole conversation with every request. Hashing the user and assistant turns
 * lets the next request find the stored conversation it continues instead of starting a new one each turn.
 */
export function threadKey(messages: readonly ChatMessage[]): string {
  const turns = messages
    .filter((message) => message.role !== 'system')
    .map((message) => [message.role, message.content.trim()]);
  return createHash('sha256').update(JSON.stringify(turns)).digest('hex');
}

function usageOf(result: RunResult | null) {
  const input = result?.usage.inputTokens ?? 0;
  const output = result?.usage.outputTokens ?? 0;
  return { prompt_tokens: input, completion_tokens: output, total_tokens: input + output };
}

function jarvisDetails(
  context: ServerContext,
  run: ActiveRun,
  conversationId: string,
  result: RunResult | null,
) {
  const progress = summarizeEvents(run.events.map((numbered) => numbered.event));
  return withFileUrls(
    {
      run_id: run.id,
      conversation_id: conversationId,
      url: `/v1/runs/${run.id}`,
      plan: result?.plan ?? progress.plan ?? [],
      tasks: progress.tasks,
      errors: result?.errors ?? progress.errors,
    },
    fileUrlsOf(context, run.id),
  );
}

/** The reply text: the answer, or (answering off, or failed) what the tasks produced. */
function replyText(
  context: ServerContext,
  result: RunResult | null,
  error: { message: string } | null,
): string {
  if (result?.answer) return result.answer;
  if (result && result.tasks.length > 0) return historyEntry(result, context.config.dataDir);
  return error ? `Jarvis could not complete the request: ${error.message}` : '';
}

export function registerOpenAIRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  app.get('/v1/models', (c) =>
    c.json({ object: 'list', data: [{ id: MODEL_NAME, object: 'model', created: 0, owned_by: 'jarvis' }] }),
  );

  app.post('/v1/chat/completions', async (c) => {
    const body = await readJson(c, chatBody);
    if (body.model && body.model !== MODEL_NAME) {
      throw new InputError(`Unknown model "${body.model}". This server offers one model: "${MODEL_NAME}".`);
    }
    const length = textLength(body.messages);
    if (length > MAX_MESSAGES_TEXT) {
      throw new HttpError(
        413,
        `The messages hold ${length} characters of text; the limit is ${MAX_MESSAGES_TEXT} (1 MiB), far more than the controller LLM can read. Send less history or shorter text (images sent inline do not count).`,
        'invalid_request_error',
        'messages_too_long',
      );
    }
    const last = body.messages.at(-1)!;
    if (last.role !== 'user')
      throw new InputError('The last message must be the user request (role "user").');
    const uploads: string[] = [];
    const request = await flatten(context, last.content, uploads);
    // Nothing to act on: running would plan from an empty request and answer something made up.
    if (request.trim() === '' && uploads.length === 0) {
      throw badRequest(
        'The last user message is empty: send its text in "content", or attach an image or audio to it.',
        'empty_message',
      );
    }
    const history: ChatMessage[] = [];
    for (const message of body.messages.slice(0, -1)) {
      if (message.role === 'tool') continue;
      const role = message.role === 'developer' ? 'system' : message.role;
      history.push({ role, content: await flatten(context, message.content, uploads) });
    }
    const continued =
      body.conversation_id ??
      (history.length > 0 ? (await context.store.findConversationByKey(threadKey(history)))?.id : undefined);
    const remember = (reply: string) =>
      context.store
        .setConversationKey(
          conversation.id,
          threadKey([...history, { role: 'user', content: request }, { role: 'assistant', content: reply }]),
        )
        .catch(() => {});
    // A client that hangs up no longer wants the run; cancelling it frees its slot.
    const clientGone = new AbortController();
    if (!body.stream) c.req.raw.signal.addEventListener('abort', () => clientGone.abort(), { once: true });
    const { run, conversation } = await startConversationRun(context, {
      key: c.get('key'),
      text: request || '(see attached files)',
      source: 'openai',
      files: uploads,
      ...(history.length > 0 ? { history } : {}),
      ...(continued ? { conversationId: continued } : {}),
      signal: clientGone.signal,
    });
    c.header('x-jarvis-run-id', run.id);
    c.header('x-jarvis-conversation-id', conversation.id);
    const id = `chatcmpl-${run.id}`;

    if (!body.stream) {
      const outcome = await run.done;
      if (!outcome.result) {
        const error = outcome.error ?? { code: 'error', message: 'The run ended without a result' };
        return errorResponse(c, new JarvisError(error.code, error.message));
      }
      const content = replyText(context, outcome.result, outcome.error);
      await remember(content);
      return c.json({
        id,
        object: 'chat.completion',
        created: created(),
        model: MODEL_NAME,
        choices: [
          {
            index: 0,
            message: { role: 'assistant', content },
            finish_reason: 'stop',
          },
        ],
        usage: usageOf(outcome.result),
        jarvis: jarvisDetails(context, run, conversation.id, outcome.result),
      });
    }

    return streamSSE(c, async (stream) => {
      stream.onAbort(() => clientGone.abort());
      const chunk = (
        delta: Record<string, unknown>,
        finish: string | null,
        extra: Record<string, unknown> = {},
      ) =>
        stream.writeSSE({
          data: JSON.stringify({
            id,
            object: 'chat.completion.chunk',
            created: created(),
            model: MODEL_NAME,
            choices: [{ index: 0, delta, finish_reason: finish }],
            ...extra,
          }),
        });
      await chunk({ role: 'assistant', content: '' }, null, {
        jarvis: { run_id: run.id, conversation_id: conversation.id, url: `/v1/runs/${run.id}` },
      });
      let streamed = false;
      for await (const { event } of run.follow()) {
        if (event.type === 'response-delta') {
          streamed = true;
          await chunk({ content: event.text }, null);
        }
      }
      const outcome = await run.done;
      if (!outcome.result && outcome.error) {
        const described = describeError(new JarvisError(outcome.error.code, outcome.error.message));
        await stream.writeSSE({
          data: JSON.stringify(errorBody(described.message, described.type, described.code)),
        });
      } else {
        const content = streamed
          ? (outcome.result?.answer ?? '')
          : replyText(context, outcome.result, outcome.error);
        if (!streamed) await chunk({ content }, null);
        await remember(content);
        await chunk({}, 'stop', { jarvis: jarvisDetails(context, run, conversation.id, outcome.result) });
        if (body.stream_options?.include_usage) {
          await stream.writeSSE({
            data: JSON.stringify({
              id,
              object: 'chat.completion.chunk',
              created: created(),
              model: MODEL_NAME,
              choices: [],
              usage: usageOf(outcome.result),
            }),
          });
        }
      }
      await stream.writeSSE({ data: '[DONE]' });
    });
  });
}
