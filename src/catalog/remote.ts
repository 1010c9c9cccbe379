/** The backend id of Hugging Face Inference Providers, named by cards from the Hub and catalog files. */
export const HF_INFERENCE_BACKEND_ID = 'hf-inference';

export interface CardAvailability {
  available: boolean;
  reason?: string;
}

export const HF_TOKEN_REASON =
  'set HF_TOKEN (a Hugging Face access token, https://huggingface.co/settings/tokens) to run it through Inference Providers';

/** Remote models can only be called with a token; without one, say what to set. */
export function hfInferenceAvailability(token: string | undefined): CardAvailability {
  return token ? { available: true } : { available: false, reason: HF_TOKEN_REASON };
}
