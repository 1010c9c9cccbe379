import { LLM_NOT_CONFIGURED } from '../llm/index.js';

/**
 * The pipeline's advice is written for the command line (environment variables, `--plan FILE --select top
 * --no-answer`); someone using the server over HTTP needs the server's way to do the same.
 */
export const LLM_NOT_CONFIGURED_ON_SERVER =
  'No controller LLM is configured. Set one in Settings (endpoint, model, key) or in the server’s environment ' +
  '(JARVIS_LLM_BASE_URL with JARVIS_LLM_API_KEY and JARVIS_LLM_MODEL, or JARVIS_LOCAL_MODEL for a GGUF file), ' +
  'or let the server download its default local model once (unset JARVIS_OFFLINE and JARVIS_LLM_AUTO_DOWNLOAD=0), ' +
  'then retry. Or run without the LLM: send a "plan" with "select": "top" and "answer": false to POST /v1/runs.';

const CLI_FALLBACK = /Or run without the LLM: --plan FILE --select top --no-answer\./;

/** A pipeline message as a server client should read it. */
export function forServer(message: string): string {
  if (message.includes(LLM_NOT_CONFIGURED))
    return message.replace(LLM_NOT_CONFIGURED, LLM_NOT_CONFIGURED_ON_SERVER);
  return message.replace(
    CLI_FALLBACK,
    'Or run without the LLM: send a "plan" with "select": "top" and "answer": false to POST /v1/runs.',
  );
}
