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

/** Deterministic PRNG (mulberry32) so property and fuzz tests replay. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(r: () => number, items: readonly T[]): T {
  return items[Math.floor(r() * items.length)];
}

export function int(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}
