// JSON Lines as the run and sweep folders keep them (events.jsonl, sweep.jsonl): one JSON value per line, appended
// while a reader may be reading.

/** The complete lines of `text`; a line being written while read (cut short) is left for the next read. */
export function parseJsonLines<T>(text: string): T[] {
  const out: T[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as T);
    } catch {
      // half written
    }
  }
  return out;
}
