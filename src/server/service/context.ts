// What the cursor is on: the deepest key or value of the parsed document that contains the offset.

import type { Path } from '../../core/diagnostics';
import type { Span } from '../../core/diagnostics';
import type { Location, ParsedConfig } from '../../core/document';

export interface CursorContext {
  path: Path;
  on: 'key' | 'value';
  span: Span;
  location: Location;
}

const contains = (span: Span | undefined, offset: number) => !!span && span[0] <= offset && offset <= span[1];

export function contextAt(parsed: ParsedConfig, offset: number): CursorContext | undefined {
  let best: CursorContext | undefined;
  for (const loc of parsed.locations) {
    if (loc.path.length === 0) continue;
    const onKey = contains(loc.key, offset);
    const onValue = !onKey && contains(loc.value, offset) && loc.value[1] > loc.value[0];
    if (!onKey && !onValue) continue;
    if (!best || loc.path.length > best.path.length) {
      best = { path: loc.path, on: onKey ? 'key' : 'value', span: onKey ? loc.key! : loc.value, location: loc };
    }
  }
  return best;
}

/** The decoder level a path names: a `skips` or `dropout.levels` entry, or a `decoder` entry. */
export function decoderLevelAt(parsed: ParsedConfig, path: Path): number | undefined {
  const [a, b, c, d] = path;
  if (a !== 'generator') return undefined;
  const value = (p: Path): unknown => {
    let v: unknown = parsed.value;
    for (const seg of p) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
    return v;
  };
  if (b === 'skips' && typeof c === 'number') return numberOrUndefined(value(path.slice(0, 3)));
  if (b === 'dropout' && c === 'levels' && typeof d === 'number') return numberOrUndefined(value(path.slice(0, 4)));
  if (b === 'decoder' && typeof c === 'number') return numberOrUndefined(value(['generator', 'decoder', c, 'level']));
  return undefined;
}

function numberOrUndefined(v: unknown): number | undefined {
  return typeof v === 'number' ? v : undefined;
}
