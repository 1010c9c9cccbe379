import type { InferenceProviderOrPolicy } from '@huggingface/inference';
import { TASKS_DATA } from '@huggingface/tasks';
import type { InferenceBackend, InferenceRequest, ModelCard } from '../../core/backend.js';
import { CancelledError, errorMessage, ModelUnavailableError, redact } from '../../core/errors.js';
import type { TaskOutput } from '../../core/output.js';
import { retryAfterMs } from '../../core/retry-after.js';
import type { TaskName } from '../../core/tasks.js';
import { HF_INFERENCE_TASKS, runnerFor } from './tasks.js';

export { countSummary, type LabelledBox } from '../shared/detections.js';
export { HF_INFERENCE_TASKS } from './tasks.js';

export const HF_INFERENCE_BACKEND_ID = 'hf-inference';
export const HUGGING_FACE_HUB_URL = 'https://huggingface.co';
export const HUGGING_FACE_ROUTER_URL = 'https://router.huggingface.co';

const NO_TOKEN_REASON =
  'set HF_TOKEN (a Hugging Face access token, https://huggingface.co/settings/tokens) to run it through Inference Providers';

export interface RetryOptions {
  /** Attempts per call, counting the first (default 4). */
  attempts?: number;
  /** First back-off after a 429; doubled each time (default 2 s). */
  rateLimitDelayMs?: number;
  /** The longest single wait for a loading model, whatever it estimates (default 60 s). */
  maxLoadingWaitMs?: number;
}

export interface HfInferenceBackendOptions {
  /** Hugging Face access token (`HF_TOKEN`); without it every model is unavailable, saying so. */
  token?: string;
  /**
   * One dedicated endpoint (Inference Endpoints, a TGI server) that serves every call, as
   * `@huggingface/inference` defines it; the Hub's provider routing is then skipped.
   */
  endpointUrl?: string;
  fetch?: typeof fetch;
  /** Where the Hub API lives (provider mapping, model status); tests point it at a loopback server. */
  hubUrl?: string;
  /** Where the Inference Providers router lives. */
  routerUrl?: string;
  /** `auto` (default: the first provider serving the model) or one provider such as `hf-inference`. */
  provider?: InferenceProviderOrPolicy;
  retry?: RetryOptions;
  /** Time one availability check may take (default 4 s). */
  statusTimeoutMs?: number;
}

/** The backend plus the status call the catalog uses before offering its models. */
export interface HfInferenceBackend extends InferenceBackend {
  checkAvailability(
    model: { id: string; task: TaskName },
    signal: AbortSignal,
  ): Promise<{ available: boolean; reason?: string }>;
}

/**
 * The Inference client and its error mapping, imported on the first call: the client is a few hundred
 * milliseconds of start-up that listing models, and every run that calls no remote model, should not pay.
 */
let clientModules:
  | Promise<[typeof import('@huggingface/inference'), typeof import('./errors.js')]>
  | undefined;
function loadClient(): Promise<[typeof import('@huggingface/inference'), typeof import('./errors.js')]> {
  clientModules ??= Promise.all([import('@huggingface/inference'), import('./errors.js')]).then((modules) => {
    // The client logs its provider choice with console.log on every call; Jarvis reports through events.
    modules[0].setLogger({ debug() {}, info() {}, log() {}, warn() {}, error() {} });
    return modules;
  });
  return clientModules;
}

/** Tasks the Hub's provider mapping lists under another name that the same route serves. */
const EQUIVALENT_TASKS: Partial<Record<TaskName, string[]>> = {
  'feature-extraction': ['feature-extraction', 'sentence-similarity'],
  'sentence-similarity': ['feature-extraction', 'sentence-similarity'],
  conversational: ['conversational', 'text-generation', 'image-text-to-text'],
  'image-text-to-text': ['image-text-to-text', 'conversational'],
};

/** Redirects the client's fixed Hub and router addresses, so one option moves all of its traffic. */
function redirectingFetch(base: typeof fetch, hubUrl: string, routerUrl: string): typeof fetch {
  if (hubUrl === HUGGING_FACE_HUB_URL && routerUrl === HUGGING_FACE_ROUTER_URL) return base;
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    let target = url;
    if (url.startsWith(HUGGING_FACE_ROUTER_URL))
      target = routerUrl + url.slice(HUGGING_FACE_ROUTER_URL.length);
    else if (url.startsWith(HUGGING_FACE_HUB_URL)) target = hubUrl + url.slice(HUGGING_FACE_HUB_URL.length);
    return base(target, init);
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(new CancelledError('The task'));
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(new CancelledError('The task'));
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Hugging Face Inference Providers through `@huggingface/inference`: the Hub's models, run remotely.
 * Needs `HF_TOKEN`. A model that is loading (503) is waited for as long as it estimates, then retried;
 * a rate limit (429) is backed off exponentially; other failures become clear task errors.
 */
export function createHfInferenceBackend(options: HfInferenceBackendOptions = {}): HfInferenceBackend {
  const token = options.token || undefined;
  const hubUrl = (options.hubUrl ?? HUGGING_FACE_HUB_URL).replace(/\/+$/, '');
  const routerUrl = (options.routerUrl ?? HUGGING_FACE_ROUTER_URL).replace(/\/+$/, '');
  const fetchImpl = redirectingFetch(options.fetch ?? fetch, hubUrl, routerUrl);
  const attempts = Math.max(1, options.retry?.attempts ?? 4);
  const rateLimitDelayMs = options.retry?.rateLimitDelayMs ?? 2_000;
  const maxLoadingWaitMs = options.retry?.maxLoadingWaitMs ?? 60_000;
  const statusTimeoutMs = options.statusTimeoutMs ?? 4_000;
  const tasks = new Set<TaskName>(HF_INFERENCE_TASKS);

  function cardsFor(task: TaskName): ModelCard[] {
    const data = (
      TASKS_DATA as Record<string, { models?: { id: string; description: string }[] } | undefined>
    )[task];
    return (data?.models ?? []).map((model) => ({
      id: model.id,
      backend: HF_INFERENCE_BACKEND_ID,
      task,
      description: `${model.description} (recommended by Hugging Face for ${task})`,
      source: 'built-in',
      local: false,
      available: token !== undefined,
      ...(token ? {} : { reason: NO_TOKEN_REASON }),
    }));
  }

  async function checkAvailability(
    model: { id: string; task: TaskName },
    signal: AbortSignal,
  ): Promise<{ available: boolean; reason?: string }> {
    if (!token) return { available: false, reason: NO_TOKEN_REASON };
    // A dedicated endpoint serves whatever it serves; the Hub's routing does not apply.
    if (options.endpointUrl) return { available: true };
    const url = `${hubUrl}/api/models/${model.id}?expand[]=inferenceProviderMapping`;
    const timeout = AbortSignal.timeout(statusTimeoutMs);
    let response: Response;
    try {
      response = await (options.fetch ?? fetch)(url, {
        headers: { Authorization: `Bearer ${token}` },
        signal: AbortSignal.any([signal, timeout]),
      });
    } catch (error) {
      const cause = error instanceof Error ? (error.cause as { message?: unknown } | undefined) : undefined;
      const detail =
        typeof cause?.message === 'string' ? `${errorMessage(error)}: ${cause.message}` : errorMessage(error);
      return { available: false, reason: `Hugging Face Hub unreachable: ${redact(detail, [token])}` };
    }
    if (response.status === 401) return { available: false, reason: 'Hugging Face rejected HF_TOKEN (401)' };
    if (response.status === 404) return { available: false, reason: `${model.id} was not found on the Hub` };
    if (!response.ok) return { available: false, reason: `Hub status call failed (${response.status})` };
    const payload = (await response.json()) as { inferenceProviderMapping?: unknown };
    const raw = payload.inferenceProviderMapping;
    const entries: { provider: string; status?: string; task?: string }[] = Array.isArray(raw)
      ? (raw as { provider: string; status?: string; task?: string }[])
      : Object.entries((raw ?? {}) as Record<string, { status?: string; task?: string }>).map(
          ([provider, entry]) => ({
            provider,
            ...entry,
          }),
        );
    const wanted = EQUIVALENT_TASKS[model.task] ?? [model.task];
    const serving = entries.filter(
      (entry) =>
        entry.status === 'live' &&
        (entry.task === undefined || wanted.includes(entry.task)) &&
        (options.provider === undefined ||
          options.provider === 'auto' ||
          entry.provider === options.provider),
    );
    if (serving.length > 0) return { available: true };
    return {
      available: false,
      reason:
        entries.length === 0
          ? `no Inference Provider serves ${model.id} now`
          : `no live Inference Provider serves ${model.id} for ${model.task} (${entries
              .map((entry) => `${entry.provider}: ${entry.task ?? '?'} ${entry.status ?? ''}`.trim())
              .join('; ')})`,
    };
  }

  async function infer(request: InferenceRequest): Promise<TaskOutput> {
    const context = { task: request.task, modelId: request.modelId, backend: HF_INFERENCE_BACKEND_ID };
    if (!token)
      throw new ModelUnavailableError(`${request.modelId} is unavailable: ${NO_TOKEN_REASON}`, context);
    const runner = runnerFor(request.task);
    if (!runner) {
      throw new ModelUnavailableError(
        `The hf-inference backend does not run ${request.task}; it runs: ${HF_INFERENCE_TASKS.join(', ')}`,
        context,
      );
    }
    const callOptions = {
      signal: request.signal,
      // The client would retry a 503 at once and forever; waiting for the model's estimate is ours to do.
      retry_on_error: false,
    };
    // A client per call, so that a rate limit's Retry-After is read for this call only.
    const hints: { retryAfterMs?: number } = {};
    const [{ InferenceClient }, { estimatedLoadSeconds, httpFailure, toJarvisError }] = await loadClient();
    const callClient = new InferenceClient(token, {
      fetch: async (input, init) => {
        const response = await fetchImpl(input, init);
        if (response.status === 429) {
          const retryAfter = retryAfterMs(response.headers.get('retry-after'));
          if (retryAfter !== undefined) hints.retryAfterMs = retryAfter;
        }
        return response;
      },
      ...(options.endpointUrl ? { endpointUrl: options.endpointUrl } : {}),
    });
    let rateLimitWait = rateLimitDelayMs;
    for (let attempt = 1; ; attempt++) {
      if (request.signal.aborted) throw new CancelledError('The task');
      hints.retryAfterMs = undefined;
      try {
        return await runner({
          client: callClient,
          model: request.modelId,
          request,
          options: callOptions,
          ...(options.provider ? { provider: options.provider } : {}),
        });
      } catch (error) {
        if (request.signal.aborted) throw new CancelledError('The task');
        const failure = httpFailure(error);
        if (failure && attempt < attempts && (failure.status === 503 || failure.status === 429)) {
          if (failure.status === 503) {
            const seconds = estimatedLoadSeconds(failure.body);
            const waitMs = Math.min(maxLoadingWaitMs, seconds === undefined ? rateLimitWait : seconds * 1000);
            request.onProgress?.(
              `${request.modelId} is loading on Hugging Face; waiting ${Math.max(1, Math.round(waitMs / 1000))} s as it estimates`,
            );
            await sleep(waitMs, request.signal);
          } else {
            // The server's Retry-After when it sent one, else exponential back-off.
            const waitMs = Math.min(maxLoadingWaitMs, hints.retryAfterMs ?? rateLimitWait);
            request.onProgress?.(
              `Hugging Face rate limit reached; retrying in ${Math.max(1, Math.round(waitMs / 1000))} s`,
            );
            await sleep(waitMs, request.signal);
            rateLimitWait *= 2;
          }
          continue;
        }
        throw toJarvisError(error, context, token);
      }
    }
  }

  return {
    specificationVersion: 'v1',
    id: HF_INFERENCE_BACKEND_ID,
    supports(task: TaskName): boolean {
      return tasks.has(task);
    },
    async listModels(task?: TaskName): Promise<ModelCard[]> {
      if (task !== undefined) return tasks.has(task) ? cardsFor(task) : [];
      return HF_INFERENCE_TASKS.flatMap(cardsFor);
    },
    infer,
    checkAvailability,
  };
}
