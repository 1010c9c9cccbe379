/** The first JSON value in an LLM reply: bare, in a ``` fence, or with prose around it; undefined if none. */
export function parseJsonReply(text: string): unknown {
  const fenced = /```(?:json)?\s*([\s\S]*?)```/i.exec(text);
  const body = (fenced?.[1] ?? text).trim();
  try {
    return JSON.parse(body);
  } catch {
    const start = body.search(/[[{]/);
    if (start < 0) return undefined;
    const open = body[start];
    const close = open === '[' ? ']' : '}';
    const end = body.lastIndexOf(close);
    if (end <= start) return undefined;
    try {
      return JSON.parse(body.slice(start, end + 1));
    } catch {
      return undefined;
    }
  }
}
