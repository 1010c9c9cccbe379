/** Longer texts are cut: flite reads ~15 characters per second, so this is already ~10 minutes of speech. */
export const MAX_SPEECH_CHARS = 10_000;

/** Text as a synthesizer should read it: one paragraph per line, control characters gone, length capped. */
export function speakableText(text: string): { text: string; truncated: boolean } {
  // Control characters (other than tab and newline) make flite stop or spell them out.
  const printable = [...text].map((char) => (isControl(char) ? ' ' : char)).join('');
  const cleaned = printable.replace(/[ \t]+/g, ' ').trim();
  if (cleaned.length <= MAX_SPEECH_CHARS) return { text: cleaned, truncated: false };
  const cut = cleaned.slice(0, MAX_SPEECH_CHARS);
  const lastStop = Math.max(cut.lastIndexOf('. '), cut.lastIndexOf('\n'));
  return { text: lastStop > MAX_SPEECH_CHARS / 2 ? cut.slice(0, lastStop + 1) : cut, truncated: true };
}

function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return (code < 32 && char !== '\n' && char !== '\t') || code === 127;
}
