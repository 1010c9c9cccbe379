/**
 * How much text each local text expert reads, in one place. A text argument can be anything a plan or an
 * earlier task produced (an OCR result, a transcript, a pasted book), and some libraries are more than
 * linear in it: compromise took 21.8 s on 198 KB and over 15 minutes on 1 MB. Each expert reads at most
 * its limit, from the start, cut at a sentence or line end, and its output says so when it did; each limit
 * keeps one task to about a second of CPU on a laptop, none holding the event loop for more than a few tens of milliseconds at a time (see the local backend's README for the figures).
 */

/**
 * Named-entity recognition: ~8 pages, read in chunks of `NER_CHUNK_CHARS` (compromise is superlinear), the
 * event loop served between chunks: about 1 s of CPU in all.
 */
export const MAX_NER_CHARS = 20_000;
/**
 * A chunk compromise and wink-nlp read in ~20 ms (under 60 ms on a busy 2-core machine), which is as long
 * as the event loop is held at a time; 1,000 and 2,000 held it up to 130 ms for no gain in total time.
 * Chunks end at a sentence or line end where one is in their second half, so names are rarely cut in two.
 */
export const NER_CHUNK_CHARS = 500;

/**
 * Sentiment: ~8 pages, read in one call of ~25 ms (wink-nlp is linear, but one call cannot be split
 * without changing its document score, and 100 KB held the event loop ~0.1-0.2 s).
 */
export const MAX_SENTIMENT_CHARS = 20_000;

/**
 * Speech synthesis: flite reads ~16 characters per second, so 2,000 characters are ~2 minutes of speech
 * (~3 s of CPU), inside the 5-minute limit every audio decoder applies to what it is given later.
 */
export const MAX_SPEECH_CHARS = 2_000;

/**
 * Where to cut `text` at most `limit` characters in: after the last sentence or line end in the second
 * half of the window, else after the last space there, else at the limit.
 */
export function cutPoint(text: string, limit: number): number {
  if (text.length <= limit) return text.length;
  const window = text.slice(0, limit);
  const sentence = Math.max(
    window.lastIndexOf('. '),
    window.lastIndexOf('! '),
    window.lastIndexOf('? '),
    window.lastIndexOf('\n'),
  );
  if (sentence >= limit / 2) return sentence + 1;
  const space = window.lastIndexOf(' ');
  return space >= limit / 2 ? space + 1 : limit;
}

/** The start of `text` an expert reads, and how much of the text that is. */
export interface ReadText {
  text: string;
  truncated: boolean;
  /** Characters read, and characters given. */
  read: number;
  total: number;
}

export function leadingText(text: string, limit: number): ReadText {
  const end = cutPoint(text, limit);
  return { text: text.slice(0, end), truncated: end < text.length, read: end, total: text.length };
}

/** " (read the first 19,998 of 198,000 characters)", for an output's text when the input was cut. */
export function truncationNote(read: ReadText): string {
  if (!read.truncated) return '';
  return ` (read the first ${read.read.toLocaleString('en-US')} of ${read.total.toLocaleString('en-US')} characters)`;
}
