/**
 * How plans pass more than one text to a task whose signature has a single text argument. HuggingGPT's
 * plans carry one `text` per task, so the extra parts are written into it in a form people also use.
 */

/**
 * Zero-shot classification needs labels besides the text; a plan writes them after it:
 * "I love this match. Labels: sports, politics" (or "candidate labels:").
 */
export function splitLabels(input: string): { text: string; labels: string[] } | undefined {
  const match = /^([\s\S]*?)[\s.;]*(?:candidate\s+)?labels?\s*[:=]\s*([^\n]+)\s*$/i.exec(input.trim());
  if (!match) return undefined;
  const labels = (match[2] ?? '')
    .split(/[,;|]/)
    .map((label) => label.trim())
    .filter((label) => label !== '');
  const body = (match[1] ?? '').trim();
  return labels.length > 0 && body !== '' ? { text: body, labels } : undefined;
}

/** Sentence similarity compares the first line with the others: one sentence per line. */
export function splitSentences(input: string): { source: string; others: string[] } | undefined {
  const [source, ...others] = input
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return source !== undefined && others.length > 0 ? { source, others } : undefined;
}

/**
 * Extractive question answering needs a question and the text to find the answer in: the first line is
 * the question and the rest the context, or, on one line, everything up to the first "?".
 */
export function splitQuestion(input: string): { question: string; context: string } | undefined {
  const trimmed = input.trim();
  const newline = trimmed.indexOf('\n');
  const mark = trimmed.indexOf('?');
  const cut = newline >= 0 ? newline : mark >= 0 ? mark + 1 : -1;
  if (cut < 0) return undefined;
  const question = trimmed.slice(0, cut).trim();
  const context = trimmed.slice(cut).trim();
  return question !== '' && context !== '' ? { question, context } : undefined;
}
