// Cursor-marked text for tests: `«` and `»` delimit an expected range, `|` marks a cursor.

import type { Position, Range } from '../../src/core/diagnostics';
import { LineIndex } from '../../src/core/diagnostics';

export interface Marked {
  text: string;
  ranges: Range[];
  cursor?: Position;
}

export function marked(source: string): Marked {
  let text = '';
  const starts: number[] = [];
  const spans: [number, number][] = [];
  let cursorOffset: number | undefined;
  for (const ch of source) {
    if (ch === '«') starts.push(text.length);
    else if (ch === '»') spans.push([starts.pop()!, text.length]);
    else if (ch === '|') cursorOffset = text.length;
    else text += ch;
  }
  const lines = new LineIndex(text);
  return {
    text,
    ranges: spans.sort((a, b) => a[0] - b[0]).map(([s, e]) => lines.range(s, e)),
    cursor: cursorOffset === undefined ? undefined : lines.position(cursorOffset),
  };
}

/** Deterministic PRNG so property and fuzz tests replay. */
export { mulberry32 as rng } from '../../src/core/random';

export function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}
