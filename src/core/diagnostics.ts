// Positions are LSP-style: 0-based lines, UTF-16 columns, so the server passes them through unchanged.

export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

/** Offsets into the text: [start, end). */
export type Span = readonly [number, number];

export type Severity = 'error' | 'warning';

export type Path = readonly (string | number)[];

export interface Diagnostic {
  severity: Severity;
  /** Stable identifier of the rule, e.g. `unknown-key`, `level-range`. */
  code: string;
  message: string;
  range: Range;
  /** The obvious corrections, best first: each replaces the text at `range` (quick fixes in the editor). */
  fixes?: Fix[];
}

/** One correction of a diagnostic: its range's text becomes `newText`. */
export interface Fix {
  title: string;
  newText: string;
  /** The one to apply without asking (VS Code's "Auto Fix"); alternatives among equals are not. */
  preferred: boolean;
}

/** `Change to 'filters'`, with why it is the one to pick when that is not plain. */
export function replaceWith(value: string | number, why?: string, preferred = true): Fix {
  return { title: `Change to '${value}'${why ? ` (${why})` : ''}`, newText: String(value), preferred };
}

/** `FILE:LINE:COL: error: message`, as compilers print it (and editors link it). */
export function formatDiagnostic(file: string, d: Diagnostic): string {
  return `${file}:${d.range.start.line + 1}:${d.range.start.character + 1}: ${d.severity}: ${d.message}`;
}

/** `1 error`, `3 errors` */
export function errorCount(n: number): string {
  return `${n} error${n === 1 ? '' : 's'}`;
}

/** Why a file cannot be used: `FILE has 2 errors:` and one `FILE:LINE:COL: error: ...` line per error. */
export function describeErrors(file: string, diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  return `${file} has ${errorCount(errors.length)}:\n${errors.map((d) => `  ${formatDiagnostic(file, d)}`).join('\n')}`;
}

/** `generator.decoder[2].skip` */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${seg}` : seg;
  }
  return out;
}

export function pathKey(path: Path): string {
  return path.join('\u0000');
}

/** Offsets to line/column through a sorted table of line starts. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10) this.starts.push(i + 1);
      else if (c === 13 && text.charCodeAt(i + 1) !== 10) this.starts.push(i + 1);
    }
  }

  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, character: o - this.starts[lo] };
  }

  offset(pos: Position): number {
    if (pos.line < 0) return 0;
    if (pos.line >= this.starts.length) return this.text.length;
    const start = this.starts[pos.line];
    const end = pos.line + 1 < this.starts.length ? this.starts[pos.line + 1] : this.text.length;
    return Math.min(start + Math.max(0, pos.character), end);
  }

  range(start: number, end: number): Range {
    return { start: this.position(start), end: this.position(end) };
  }
}
