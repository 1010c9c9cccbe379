import type { Context, Hono } from 'hono';
import { z } from 'zod';
import { InputError, JarvisError } from '../core/errors.js';
import type { ChatMessage } from '../core/llm.js';
import type { AppEnv } from './app.js';
import { fileUrlsOf, type ServerContext, startConversationRun } from './context.js';
import { describeError, errorBody, readJson } from './http-errors.js';
import { hugginggptResults } from './presenter.js';

/**
 * HuggingGPT's own endpoints, with its request (`{"messages": [{"role", "content"}]}`) and response shapes,
 * so clients written for microsoft/JARVIS keep working:
 * - `/hugginggpt`: `{"message": answer}`
 * - `/tasks`: the planned task list (`[{"task", "id", "dep", "args"}]`), or `{"message"}` when no tool is needed
 * - `/results`: `{"<id>": {"task", "inference result", "choose model result"}}`
 * Credentials in the body (`api_key`, `api_endpoint`, `api_type`) are ignored: the server's own LLM
 * configuration is used, so a client can neither read nor redirect it.
 */

const body = z.object({
  messages: z.array(z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string() })).min(1),
});

function split(messages: z.infer<typeof body>['messages']): { request: string; history: ChatMessage[] } {
  const last = messages.at(-1)!;
  if (last.role !== 'user') throw new InputError('The last message must be the user request (role "user").');
  return { request: last.content, history: messages.slice(0, -1) };
}

/** HuggingGPT answered errors with 200 and `{"error"}`; we keep the body shape but use a real status. */
function failure(c: Context, error: { code: string; message: string }): Response {
  const described = describeError(new JarvisError(error.code, error.message));
  return c.json(
    { ...errorBody(described.message, described.type, described.code), message: described.message },
    described.status,
  );
}

export function registerHuggingGPTRoutes(app: Hono<AppEnv>, context: ServerContext): void {
  const runTurn = async (
    c: Context<AppEnv>,
    { request, history }: ReturnType<typeof split>,
    options: { answer: boolean; plan?: [] },
  ) => {
    const { run } = await startConversationRun(context, {
      key: c.get('key'),
      text: request,
      source: 'hugginggpt',
      history,
      answer: options.answer,
      ...(options.plan ? { plan: options.plan } : {}),
      signal: c.req.raw.signal,
    });
    c.header('x-jarvis-run-id', run.id);
    return { run, outcome: await run.done };
  };

  app.post('/hugginggpt', async (c) => {
    const { outcome } = await runTurn(c, split((await readJson(c, body)).messages), { answer: true });
    if (!outcome.result?.answer) {
      if (outcome.error) return failure(c, outcome.error);
      return c.json({ message: '' });
    }
    return c.json({ message: outcome.result.answer });
  });

  app.post('/tasks', async (c) => {
    const turn = split((await readJson(c, body)).messages);
    const slot = await context.runs.admit(c.get('key'), c.req.raw.signal);
    let planned: Awaited<ReturnType<ReturnType<ServerContext['jarvis']>['plan']>>;
    try {
      planned = await context.jarvis().plan(turn.request, turn.history, c.req.raw.signal);
    } finally {
      slot.release();
    }
    if (planned.plan.length > 0) return c.json(planned.plan);
    // HuggingGPT chats instead when the plan is empty; the empty plan is given so it is not planned twice.
    const { outcome } = await runTurn(c, turn, { answer: true, plan: [] });
    if (outcome.error && !outcome.result?.answer) return failure(c, outcome.error);
    return c.json({ message: outcome.result?.answer ?? '' });
  });

  app.post('/results', async (c) => {
    const { run, outcome } = await runTurn(c, split((await readJson(c, body)).messages), { answer: false });
    if (!outcome.result) return failure(c, outcome.error ?? { code: 'error', message: 'The run failed' });
    return c.json(hugginggptResults(outcome.result, fileUrlsOf(context, run.id)));
  });
}
