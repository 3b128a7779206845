// Completion of keys and enumerated values, read from the schema. The YAML being typed is usually broken, so
// the context comes from the text itself: block indentation above the cursor and flow brackets on its line.

import type { Analysis } from '../../core/analysis';
import type { Path } from '../../core/diagnostics';
import { childSchema, gridPaths, schemaAt, type Schema } from '../../core/schema';
import { derivedDefault } from '../../core/config';
import { keyDocs } from './hover';

export interface CompletionEntry {
  label: string;
  kind: 'key' | 'value';
  detail?: string;
  documentation: string;
  /** Snippet syntax ($0, ${1|a,b|}). */
  insertText: string;
  sortText: string;
  /** A key whose value the editor should go on to suggest once the key is inserted. */
  suggestValues?: boolean;
}

interface LineInfo {
  indent: number;
  /** Column of the key after any `- ` markers. */
  keyCol: number;
  dash: boolean;
  key?: string;
  /** Text after `key:` (comments stripped). */
  rest: string;
  blank: boolean;
}

function lineInfo(line: string): LineInfo {
  const m = /^(\s*)((?:- +)*)(?:([A-Za-z_][\w-]*)\s*:(?=\s|$))?(.*)$/.exec(line)!;
  const rest = (m[4] ?? '').replace(/(^|\s)#.*$/, '').trim();
  const blank = /^\s*(#.*)?$/.test(line);
  return { indent: m[1].length, keyCol: m[1].length + m[2].length, dash: m[2].length > 0, key: m[3], rest, blank };
}

/** The mapping path that holds a key written at `col` on line `lineNo` (list items by index). */
function blockPath(lines: string[], lineNo: number, col: number, dash: boolean, dashCol: number): Path {
  const path: (string | number)[] = [];
  let cur = col;
  // Inside a list item: the column of its `-` and how many items of the same list precede it.
  let item: { col: number; index: number } | undefined = dash ? { col: dashCol, index: 0 } : undefined;
  for (let i = lineNo - 1; i >= 0; i--) {
    const info = lineInfo(lines[i]);
    if (info.blank) continue;
    if (item) {
      if (info.dash && info.indent === item.col) {
        item.index++;
        continue;
      }
      if (info.indent > item.col) continue;
      if (!(info.key && info.rest === '' && info.keyCol <= item.col)) return path;
      path.unshift(info.key, item.index);
      cur = info.keyCol;
      item = info.dash ? { col: info.indent, index: 0 } : undefined;
      continue;
    }
    if (info.dash && info.keyCol === cur) {
      item = { col: info.indent, index: 0 };
      continue;
    }
    if (info.keyCol < cur && info.key && info.rest === '') {
      path.unshift(info.key);
      cur = info.keyCol;
      if (info.dash) item = { col: info.indent, index: 0 };
    }
  }
  return path;
}

interface FlowFrame {
  bracket: '{' | '[';
  key?: string;
}

/** Brackets left open on the line before the cursor, each with the key it is the value of. */
function openFlows(before: string): { frames: FlowFrame[]; segment: string } {
  const frames: FlowFrame[] = [];
  let segmentStart = 0;
  let quote = '';
  for (let i = 0; i < before.length; i++) {
    const c = before[i];
    if (quote) {
      if (c === quote) quote = '';
      continue;
    }
    if (c === '"' || c === "'") quote = c;
    else if (c === '{' || c === '[') {
      const key = /([A-Za-z_][\w-]*)\s*:\s*$/.exec(before.slice(segmentStart, i))?.[1];
      frames.push({ bracket: c, key });
      segmentStart = i + 1;
    } else if (c === '}' || c === ']') {
      frames.pop();
      segmentStart = i + 1;
    } else if (c === ',') segmentStart = i + 1;
  }
  return { frames, segment: before.slice(segmentStart) };
}

export function complete(analysis: Analysis, offset: number): CompletionEntry[] {
  const text = analysis.parsed.text;
  const lines = text.split(/\r?\n/);
  const pos = analysis.parsed.lines.position(offset);
  const line = lines[pos.line] ?? '';
  const before = line.slice(0, pos.character);
  if (/(^|\s)#/.test(before.replace(/"[^"]*"|'[^']*'/g, ''))) return []; // in a comment

  const head = lineInfo(before);
  const { frames, segment } = openFlows(before);

  if (frames.length) {
    // Path: the block path of this line's key, then each open bracket's key (list items as index 0).
    const lineKey = /^\s*(?:- +)*([A-Za-z_][\w-]*)\s*:/.exec(before)?.[1];
    const base = blockPath(lines, pos.line, head.keyCol, head.dash, head.indent);
    const path: (string | number)[] = [...base];
    frames.forEach((f, i) => {
      const key = i === 0 ? (f.key ?? lineKey) : f.key;
      if (key) path.push(key);
      if (f.bracket === '[') path.push(0);
    });
    // In `[`: list values; in `{`: `key` or `key: value`.
    const last = frames[frames.length - 1];
    if (last.bracket === '[') return valueEntries(analysis, path);
    const kv = /^\s*([A-Za-z_][\w-]*)\s*:\s*(\S*)$/.exec(segment);
    if (kv) return valueEntries(analysis, [...path, kv[1]]);
    if (/^\s*[A-Za-z_]?[\w-]*$/.test(segment)) return keyEntries(analysis, path, true, flowSiblings(segment, before));
    return [];
  }

  const keyValue = /^\s*(?:- +)*([A-Za-z_][\w-]*)\s*:\s+(\S*)$/.exec(before);
  if (keyValue) {
    const path = [...blockPath(lines, pos.line, head.keyCol, head.dash, head.indent), keyValue[1]];
    return valueEntries(analysis, path);
  }
  if (/^\s*(?:- +)*[A-Za-z_]?[\w-]*$/.test(before)) {
    const path = blockPath(lines, pos.line, head.keyCol, head.dash, head.indent);
    return keyEntries(analysis, path, false, blockSiblings(lines, pos.line, head.keyCol));
  }
  return [];
}

/** Keys written at `col` in the block around `lineNo` (the text view, for documents that do not parse). */
function blockSiblings(lines: string[], lineNo: number, col: number): Set<string> {
  const keys = new Set<string>();
  for (const step of [-1, 1]) {
    for (let i = lineNo + step; i >= 0 && i < lines.length; i += step) {
      const info = lineInfo(lines[i]);
      if (info.blank) continue;
      if (info.keyCol < col || (info.dash && info.keyCol === col)) break;
      if (info.keyCol === col && info.key) keys.add(info.key);
    }
  }
  return keys;
}

function flowSiblings(_segment: string, before: string): Set<string> {
  const inner = before.slice(before.lastIndexOf('{') + 1);
  return new Set([...inner.matchAll(/([A-Za-z_][\w-]*)\s*:/g)].map((m) => m[1]));
}

function keyEntries(analysis: Analysis, path: Path, flow: boolean, flowPresent: Set<string>): CompletionEntry[] {
  const schema = objectOf(schemaAt(path));
  if (!schema) return [];
  // Block paths carry real list indices; in flow context only the keys typed on this line count.
  const present = new Set(flowPresent);
  if (!flow) {
    for (const loc of analysis.parsed.locations) {
      if (loc.path.length === path.length + 1 && path.every((p, i) => loc.path[i] === p))
        present.add(String(loc.path[path.length]));
    }
  }
  return Object.entries(schema.properties)
    .filter(([key]) => !present.has(key))
    .map(([key, child], i) => {
      const insertText = insertKey(key, child, flow);
      // Keys ending at `key: ` (no choice snippet, no nested block) go on to their values.
      const suggestValues = insertText.endsWith(': $0') && valueEntries(analysis, [...path, key]).length > 0;
      return {
        label: key,
        kind: 'key' as const,
        detail: detailOf(child),
        documentation: keyDocs([...path, key], undefined, analysis.config),
        insertText,
        sortText: String(i).padStart(3, '0'),
        ...(suggestValues ? { suggestValues } : {}),
      };
    });
}

function objectOf(s: Schema | undefined) {
  if (!s) return undefined;
  if (s.kind === 'object') return s;
  if (s.kind === 'union')
    return s.anyOf.find((a) => a.kind === 'object') as Extract<Schema, { kind: 'object' }> | undefined;
  if (s.kind === 'grid') {
    const properties = Object.fromEntries([...gridPaths().keys()].map((k) => [k, childSchema(s, k)!]));
    return { kind: 'object' as const, doc: s.doc, properties };
  }
  return undefined;
}

function detailOf(s: Schema): string {
  switch (s.kind) {
    case 'object':
      return 'mapping';
    case 'array':
      return 'list';
    case 'union':
      return s.expected.replace(/`/g, '');
    case 'string':
      return s.enum ? s.enum.join(' | ') : 'string';
    case 'number':
      return s.integer ? 'integer' : 'number';
    case 'boolean':
      return 'boolean';
    case 'grid':
      return 'config path: [values]';
  }
}

function insertKey(key: string, s: Schema, flow: boolean): string {
  if (flow) return s.kind === 'object' ? `${key}: { $0 }` : `${key}: $0`;
  if (s.kind === 'object') return `${key}:\n  $0`;
  if (s.kind === 'array' && s.items.kind === 'object') return `${key}:\n  - $0`;
  if (s.kind === 'array' && key.includes('.')) return `${key}: [$0]`;
  if (s.kind === 'string' && s.enum) return `${key}: \${1|${s.enum.join(',')}|}`;
  if (s.kind === 'boolean') return `${key}: \${1|true,false|}`;
  return `${key}: $0`;
}

function valueEntries(analysis: Analysis, path: Path): CompletionEntry[] {
  const schema = schemaAt(path);
  if (!schema) return [];
  const out: CompletionEntry[] = [];
  const add = (label: string, documentation: string) =>
    out.push({ label, kind: 'value', documentation, insertText: label, sortText: String(out.length).padStart(3, '0') });
  const alternatives = schema.kind === 'union' ? schema.anyOf : [schema];
  for (const alt of alternatives) {
    if (alt.kind === 'string' && alt.enum) for (const v of alt.enum) add(v, alt.enumDocs?.[v] ?? alt.doc);
    if (alt.kind === 'boolean') for (const v of ['true', 'false']) add(v, alt.doc);
  }
  const decoderLevels = analysis.config.generator.decoder.length;
  const isLevel = schema.kind === 'number' && schema.doc.startsWith('A decoder level');
  if (isLevel)
    for (let l = 1; l <= decoderLevels; l++)
      add(String(l), `Decoder level ${l} of ${decoderLevels} (1 is the deepest).`);
  if (path.join('.') === 'input.size') for (let s = 16; s <= 1024; s *= 2) add(String(s), `${s}x${s} pixels`);
  const derived = derivedDefault(path.join('.'), analysis.config);
  if (!out.length && derived) add(String(derived.value), `The default here, from ${derived.from}. ${schema.doc}`);
  else if (!out.length && schema.default !== undefined && typeof schema.default !== 'object')
    add(String(schema.default), `The default. ${schema.doc}`);
  return out;
}
