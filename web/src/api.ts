import { EventSourceParserStream } from 'eventsource-parser/stream';
import type {
  Conversation,
  ConversationDetail,
  RunEvent,
  RunStatus,
  RunView,
  Settings,
  UploadedFile,
} from './types.js';

/** The server's API key, when it requires one; kept in this browser only. */
const KEY_STORAGE = 'jarvis.apiKey';

export function getApiKey(): string {
  return localStorage.getItem(KEY_STORAGE) ?? '';
}

export function setApiKey(key: string): void {
  if (key) localStorage.setItem(KEY_STORAGE, key);
  else localStorage.removeItem(KEY_STORAGE);
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string,
  ) {
    super(message);
  }
}

function headers(extra: Record<string, string> = {}): Record<string, string> {
  const key = getApiKey();
  return key ? { authorization: `Bearer ${key}`, ...extra } : extra;
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(path, {
    method,
    headers: headers(body === undefined ? {} : { 'content-type': 'application/json' }),
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw await errorOf(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { message?: string; code?: string } };
    return new ApiError(
      body.error?.message ?? response.statusText,
      response.status,
      body.error?.code ?? 'error',
    );
  } catch {
    return new ApiError(response.statusText || `HTTP ${response.status}`, response.status, 'error');
  }
}

export const api = {
  health: () => call<{ ok: boolean; authRequired: boolean }>('GET', '/v1/health'),
  conversations: async () =>
    (await call<{ conversations: Conversation[] }>('GET', '/v1/conversations')).conversations,
  conversation: (id: string) =>
    call<ConversationDetail>('GET', `/v1/conversations/${encodeURIComponent(id)}`),
  deleteConversation: (id: string) => call<void>('DELETE', `/v1/conversations/${encodeURIComponent(id)}`),
  renameConversation: (id: string, title: string) =>
    call<Conversation>('PATCH', `/v1/conversations/${encodeURIComponent(id)}`, { title }),
  run: (id: string) => call<RunView>('GET', `/v1/runs/${encodeURIComponent(id)}`),
  startRun: (body: { request: string; conversationId?: string; files?: string[] }) =>
    call<{ id: string; conversationId: string; eventsUrl: string }>('POST', '/v1/runs', body),
  cancelRun: (id: string) => call<{ status: RunStatus }>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`),
  settings: () => call<Settings>('GET', '/v1/settings'),
  saveSettings: (body: {
    llm?: { baseURL?: string | null; model?: string; apiKey?: string | null };
    inference?: { mode?: string };
  }) => call<Settings>('PUT', '/v1/settings', body),

  async upload(file: File): Promise<UploadedFile> {
    const form = new FormData();
    form.append('file', file, file.name);
    const response = await fetch('/v1/uploads', { method: 'POST', headers: headers(), body: form });
    if (!response.ok) throw await errorOf(response);
    const body = (await response.json()) as { uploads: UploadedFile[] };
    return body.uploads[0]!;
  },

  /**
   * Follows a run's event stream until it ends. Uses fetch rather than EventSource so the API key can go in
   * a header, and resumes from the last event id if the connection drops.
   */
  async followRun(
    runId: string,
    onEvent: (event: RunEvent) => void,
    signal: AbortSignal,
  ): Promise<{ status: RunStatus | 'unknown' }> {
    let lastId = -1;
    for (let attempt = 0; attempt < 20; attempt++) {
      try {
        const response = await fetch(`/v1/runs/${encodeURIComponent(runId)}/events`, {
          headers: headers(lastId >= 0 ? { 'last-event-id': String(lastId) } : {}),
          signal,
        });
        if (!response.ok || !response.body) throw await errorOf(response);
        const events = response.body
          .pipeThrough(new TextDecoderStream())
          .pipeThrough(new EventSourceParserStream())
          .getReader();
        for (;;) {
          const { value: message, done } = await events.read();
          if (done) break;
          if (message.event === 'end') return JSON.parse(message.data) as { status: RunStatus };
          if (message.id !== undefined) lastId = Number(message.id);
          onEvent(JSON.parse(message.data) as RunEvent);
        }
      } catch (error) {
        if (signal.aborted) throw error;
        if (error instanceof ApiError && error.status < 500) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 500 * (attempt + 1))));
    }
    return { status: 'unknown' };
  },
};
