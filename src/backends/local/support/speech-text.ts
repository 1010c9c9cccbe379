import { leadingText, MAX_SPEECH_CHARS } from './text-limits.js';

export { MAX_SPEECH_CHARS };

/** Text as a synthesizer should read it: one paragraph per line, control characters gone, length capped. */
export function speakableText(text: string): { text: string; truncated: boolean } {
  // Only the start is ever read, so only the start is cleaned: a megabyte of text costs no more than a page.
  const head = text.slice(0, MAX_SPEECH_CHARS * 4);
  // Control characters (other than tab and newline) make flite stop or spell them out.
  const printable = [...head].map((char) => (isControl(char) ? ' ' : char)).join('');
  const cleaned = printable.replace(/[ \t]+/g, ' ').trim();
  const read = leadingText(cleaned, MAX_SPEECH_CHARS);
  return { text: read.text.trim(), truncated: read.truncated || head.length < text.length };
}

function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return (code < 32 && char !== '\n' && char !== '\t') || code === 127;
}
