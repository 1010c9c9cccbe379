/**
 * A `Retry-After` header (RFC 9110: a number of seconds or an HTTP date) in milliseconds from `now`, or
 * undefined when it is missing or unreadable. One reading for every client Jarvis has (the LLM's, Hugging
 * Face's).
 */
export function retryAfterMs(header: string | null | undefined, now = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return seconds >= 0 ? seconds * 1000 : undefined;
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
