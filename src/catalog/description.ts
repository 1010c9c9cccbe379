/**
 * Turns a model card (README.md with YAML front matter, badges, HTML and tables) into the plain prose
 * that model selection shows the LLM. The LLM reads a few hundred characters per candidate, so markup
 * that carries no meaning is dropped first to leave room for the sentences that do.
 */
export function cardDescription(markdown: string, maxChars = 800): string {
  const text = markdown
    // YAML front matter: metadata the card also exposes as tags.
    .replace(/^\uFEFF?---\r?\n[\s\S]*?\r?\n---\r?\n/, '')
    .replace(/<!--[\s\S]*?-->/g, ' ')
    .replace(/```[\s\S]*?```/g, ' ')
    // Images and badges say nothing a language model can use.
    .replace(/!\[[^\]]*\]\([^)]*\)/g, ' ')
    // Links keep their words.
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/<[^>]+>/g, ' ')
    // Table rows are mostly numbers from evaluations.
    .replace(/^\s*\|.*\|\s*$/gm, ' ')
    .replace(/^#+\s*/gm, '')
    .replace(/[*`]+/g, '')
    // Underscores mark emphasis only at word edges; inside names (bert_base_uncased) they stay.
    .replace(/(?<![A-Za-z0-9])_+|_+(?![A-Za-z0-9])/g, '')
    .replace(/\s+/g, ' ')
    .trim();
  return truncate(text, maxChars);
}

/** Cuts at a word boundary and marks the cut, so a reader knows the text goes on. */
export function truncate(text: string, maxChars: number): string {
  if (text.length <= maxChars) return text;
  const cut = text.slice(0, Math.max(0, maxChars - 1));
  const lastSpace = cut.lastIndexOf(' ');
  return `${(lastSpace > maxChars * 0.6 ? cut.slice(0, lastSpace) : cut).trimEnd()}…`;
}
