// Parse `.p2p.yaml` text and check it against the schema, keeping the source range of every key and value.

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { didYouMean } from './didYouMean';
import {
  formatPath,
  LineIndex,
  pathKey,
  replaceWith,
  type Diagnostic,
  type Fix,
  type Path,
  type Range,
  type Severity,
  type Span,
} from './diagnostics';
import { syntaxDiagnostic } from './yamlSyntax';
import { childSchema, configSchema, gridPaths, type NumberSchema, type Schema } from './schema';

export interface Location {
  path: Path;
  /** The key of the pair holding this value (absent for the root and list items). */
  key?: Span;
  value: Span;
}

export interface ParsedConfig {
  text: string;
  lines: LineIndex;
  /** The plain value of every key that passed the schema; invalid values are left out (defaults apply). */
  value: Record<string, unknown>;
  diagnostics: Diagnostic[];
  /** Every key and value met, in document order. */
  locations: Location[];
  /** Range of the value at `path`, else of its nearest located ancestor. */
  rangeOf(path: Path, part?: 'key' | 'value' | 'pair'): Range;
  locate(path: Path): Location | undefined;
}

/** Documents above this size get one diagnostic instead of an analysis. */
const MAX_DOCUMENT_CHARS = 1_000_000;
/** Bound on nodes visited, so alias expansion ("billion laughs") cannot blow up. */
const MAX_NODES = 20_000;

export function parseConfig(text: string): ParsedConfig {
  const walker = new Walker(text);
  const problem = preflight(text, walker.lines);
  if (problem) walker.diagnostics.push(problem);
  else {
    const doc = parseYaml(text, walker);
    if (doc) walker.walkRoot(doc);
  }
  return walker.result();
}

/** A document too large or too deeply nested to parse at all. */
function preflight(text: string, lines: LineIndex): Diagnostic | undefined {
  if (text.length > MAX_DOCUMENT_CHARS) {
    const [size, max] = [text.length, MAX_DOCUMENT_CHARS].map((n) => n.toLocaleString('en-US'));
    const message = `document too large: ${size} characters; a .p2p.yaml config is expected to be under ${max}`;
    return { severity: 'error', code: 'too-large', message, range: lines.range(0, 0) };
  }
  const deep = tooDeep(text);
  if (deep === undefined) return undefined;
  const message = `flow collections nested deeper than ${MAX_FLOW_DEPTH} levels; a .p2p.yaml config needs at most 4`;
  return { severity: 'error', code: 'too-deep', message, range: lines.range(deep, deep + 1) };
}

/** The YAML document with its syntax errors and warnings reported; undefined when the parser gave up. */
function parseYaml(text: string, walker: Walker): Document.Parsed | undefined {
  const { lines, diagnostics } = walker;
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: new LineCounter(), prettyErrors: false, uniqueKeys: true, strict: true });
  } catch (e) {
    // The yaml parser recurses on nested collections; absurd nesting can exhaust the stack.
    const message = `cannot parse YAML: ${e instanceof Error ? e.message : String(e)}`;
    diagnostics.push({ severity: 'error', code: 'yaml-syntax', message, range: lines.range(0, 0) });
    return undefined;
  }
  for (const err of [...doc.errors, ...doc.warnings]) diagnostics.push(syntaxDiagnostic(doc, err, lines));
  return doc;
}

/**
 * Walks the YAML tree against the schema: records where every key and value is, and keeps the plain value of
 * what is valid. Each `walk...` returns the validated value, or undefined after reporting why it is invalid.
 */
class Walker {
  readonly lines: LineIndex;
  readonly diagnostics: Diagnostic[] = [];
  private readonly locations: Location[] = [];
  private readonly byPath = new Map<string, Location>();
  private value: Record<string, unknown> = {};
  private visited = 0;
  private doc: Document.Parsed | undefined;

  constructor(private readonly text: string) {
    this.lines = new LineIndex(text);
  }

  result(): ParsedConfig {
    const { text, lines, value, diagnostics, locations } = this;
    const locate = (path: Path) => this.byPath.get(pathKey(path));
    const rangeOf = (path: Path, part: 'key' | 'value' | 'pair' = 'value'): Range => {
      for (let n = path.length; n >= 0; n--) {
        const loc = locate(path.slice(0, n));
        if (!loc) continue;
        if (part === 'key' && loc.key && n === path.length) return lines.range(loc.key[0], loc.key[1]);
        if (part === 'pair' && loc.key && n === path.length) return lines.range(loc.key[0], loc.value[1]);
        return lines.range(loc.value[0], loc.value[1]);
      }
      return lines.range(0, 0);
    };
    return { text, lines, value, diagnostics, locations, rangeOf, locate };
  }

  walkRoot(doc: Document.Parsed): void {
    this.doc = doc;
    const root = doc.contents as Node | null;
    const rootSpan: Span = root?.range ? trimEnd(this.text, root.range[0], root.range[1]) : [0, 0];
    this.record([], root, undefined, rootSpan);
    if (root === null || (isScalar(root) && root.value === null)) return;
    if (!isMap(root) && !isAlias(root)) {
      const keys = Object.keys(configSchema.properties).join(', ');
      this.report('error', 'type', `expected a mapping at the top level (${keys}), found ${describe(root)}`, rootSpan);
      return;
    }
    this.value = (this.walk(root, configSchema, [], rootSpan) as Record<string, unknown> | undefined) ?? {};
  }

  private report(severity: Severity, code: string, message: string, span: Span, fixes: Fix[] = []): void {
    const range = this.lines.range(span[0], span[1]);
    this.diagnostics.push({ severity, code, message, range, ...(fixes.length ? { fixes } : {}) });
  }

  private record(path: Path, node: Node | null, keySpan: Span | undefined, fallback: Span): Span {
    const span: Span = node?.range ? trimEnd(this.text, node.range[0], node.range[1]) : fallback;
    const loc: Location = { path, key: keySpan, value: span };
    this.locations.push(loc);
    this.byPath.set(pathKey(path), loc);
    return span;
  }

  private walk(node: Node | null, schema: Schema, path: Path, span: Span): unknown {
    if (++this.visited > MAX_NODES) {
      const message = `document too complex: more than ${MAX_NODES} nodes after expanding aliases`;
      if (this.visited === MAX_NODES + 1) this.report('error', 'too-complex', message, span);
      return undefined;
    }
    if (node && isAlias(node)) {
      const target = node.resolve(this.doc!);
      return target ? this.walk(target as Node, schema, path, span) : undefined;
    }
    const where = formatPath(path) || 'the document';
    if (schema.kind === 'union') {
      const alt = schema.anyOf.find((s) => matchesKind(node, s));
      if (alt) return this.walk(node, alt, path, span);
      this.report('error', 'type', `\`${where}\`: expected ${schema.expected}, found ${describe(node)}`, span);
      return undefined;
    }
    if (schema.kind === 'object') return this.walkObject(node, schema, path, span);
    if (schema.kind === 'grid') return this.walkGrid(node, schema, path, span);
    if (schema.kind === 'array') return this.walkArray(node, schema, path, span);
    return this.walkScalar(node, schema, where, span);
  }

  private walkObject(node: Node | null, schema: Extract<Schema, { kind: 'object' }>, path: Path, span: Span) {
    const where = formatPath(path) || 'the document';
    const known = Object.keys(schema.properties);
    if (node === null || (isScalar(node) && node.value === null)) return {}; // `key:` with nothing yet
    if (!isMap(node)) {
      this.report(
        'error',
        'type',
        `\`${where}\`: expected a mapping (${known.join(', ')}), found ${describe(node)}`,
        span,
      );
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const { keyNode, keySpan, key } = keyOf(pair, span);
      if (typeof key !== 'string') {
        const message = `\`${where}\`: keys are names (${known.join(', ')}), found ${describe(keyNode)}`;
        this.report('error', 'key-type', message, keySpan);
        continue;
      }
      const child = schema.properties[key];
      if (!child) {
        const guess = didYouMean(key, known);
        const message = unknownKey(key, known, guess, path.length ? ` in \`${where}\`` : '');
        this.report('error', 'unknown-key', message, keySpan, guess ? [replaceWith(guess)] : []);
        continue;
      }
      const { v } = this.walkPair(pair, child, [...path, key], keySpan);
      if (v !== undefined) out[key] = v;
    }
    return out;
  }

  private walkGrid(node: Node | null, schema: Extract<Schema, { kind: 'grid' }>, path: Path, span: Span) {
    const where = formatPath(path) || 'the document';
    if (node === null || (isScalar(node) && node.value === null)) return {};
    if (!isMap(node)) {
      const expected = 'a mapping from config paths (`generator.upsampling`) to lists of values';
      this.report('error', 'type', `\`${where}\`: expected ${expected}, found ${describe(node)}`, span);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const { keyNode, keySpan, key } = keyOf(pair, span);
      const child = typeof key === 'string' ? childSchema(schema, key) : undefined;
      if (typeof key !== 'string' || !child) {
        const guess = typeof key === 'string' ? didYouMean(key, [...gridPaths().keys()]) : undefined;
        const message = `\`${where}\`: ${unknownGridPath(key, keyNode, guess)}`;
        this.report('error', 'unknown-key', message, keySpan, guess ? [replaceWith(guess)] : []);
        continue;
      }
      const childPath = [...path, key];
      const { v, valueSpan } = this.walkPair(pair, child, childPath, keySpan);
      if (Array.isArray(v) && v.length === 0) {
        this.report('error', 'range', `\`${formatPath(childPath)}\`: list at least one value`, valueSpan);
        continue;
      }
      if (v !== undefined) out[key] = v;
    }
    return out;
  }

  private walkArray(node: Node | null, schema: Extract<Schema, { kind: 'array' }>, path: Path, span: Span) {
    const where = formatPath(path) || 'the document';
    if (!isSeq(node)) {
      this.report('error', 'type', `\`${where}\`: expected a list, found ${describe(node)}`, span);
      return undefined;
    }
    if (schema.maxItems !== undefined && node.items.length > schema.maxItems) {
      const message = `\`${where}\`: expected at most ${schema.maxItems} items, found ${node.items.length}`;
      this.report('error', 'range', message, span);
      return undefined;
    }
    return node.items.map((item, i) => {
      const childPath = [...path, i];
      const itemSpan = this.record(childPath, item as Node | null, undefined, span);
      return this.walk(item as Node | null, schema.items, childPath, itemSpan); // undefined keeps indices
    });
  }

  private walkScalar(node: Node | null, schema: Schema, where: string, span: Span): unknown {
    const scalar = isScalar(node) ? node.value : undefined;
    if (schema.kind === 'boolean') {
      if (typeof scalar === 'boolean') return scalar;
      this.report('error', 'type', `\`${where}\`: expected \`true\` or \`false\`, found ${describe(node)}`, span);
      return undefined;
    }
    if (schema.kind === 'string') {
      if (typeof scalar !== 'string') {
        const message = `\`${where}\`: expected ${expectedString(schema.enum)}, found ${describe(node)}`;
        this.report('error', 'type', message, span);
        return undefined;
      }
      if (!schema.enum || schema.enum.includes(scalar)) return scalar;
      const guess = didYouMean(scalar, schema.enum);
      const message = `\`${where}\`: expected ${expectedString(schema.enum)}, found \`${clip(scalar)}\`${guess ? `; did you mean \`${guess}\`?` : ''}`;
      // The guess, or every value when there are few to choose from.
      const choices = guess ? [guess] : schema.enum.length <= 6 ? schema.enum : [];
      this.report(
        'error',
        'enum',
        message,
        span,
        choices.map((c) => replaceWith(c, undefined, !!guess)),
      );
      return undefined;
    }
    const numeric = schema as NumberSchema;
    const problem = numberProblem(scalar, numeric);
    if (problem === undefined) return scalar;
    const code = typeof scalar === 'number' ? 'range' : 'type';
    const nearest = typeof scalar === 'number' ? nearestValid(scalar, numeric) : undefined;
    const message = `\`${where}\`: expected ${describeNumber(numeric)}, found ${problem || describe(node)}`;
    this.report('error', code, message, span, nearest !== undefined ? [replaceWith(nearest, 'nearest allowed')] : []);
    return undefined;
  }

  /** A mapping entry's value: located (an empty value sits right after its key), then validated. */
  private walkPair(pair: { value: unknown }, child: Schema, childPath: Path, keySpan: Span) {
    const valueNode = pair.value as Node | null;
    const valueSpan = this.record(childPath, valueNode, keySpan, [keySpan[1], keySpan[1]]);
    return { v: this.walk(valueNode, child, childPath, valueSpan), valueSpan };
  }
}

function unknownKey(key: string, known: string[], guess: string | undefined, inWhere: string): string {
  return guess
    ? `unknown key \`${key}\`${inWhere}; did you mean \`${guess}\`?`
    : `unknown key \`${key}\`${inWhere}; expected one of: ${known.join(', ')}`;
}

function unknownGridPath(key: unknown, keyNode: Node | null, guess: string | undefined): string {
  const known = [...gridPaths().keys()];
  const what =
    typeof key === 'string'
      ? `\`${clip(key)}\` is not a config path a variant can change`
      : `keys are config paths, found ${describe(keyNode)}`;
  const examples = known
    .slice(0, 3)
    .map((k) => `\`${k}\``)
    .join(', ');
  return `${what}${guess ? `; did you mean \`${guess}\`?` : ` (e.g. ${examples})`}`;
}

/** A mapping entry's key: its node, its span (the mapping's, when the key has none) and its scalar value. */
function keyOf(pair: { key: unknown }, fallback: Span): { keyNode: Node | null; keySpan: Span; key: unknown } {
  const keyNode = pair.key as Node | null;
  const keySpan: Span = keyNode?.range ? [keyNode.range[0], keyNode.range[1]] : fallback;
  return { keyNode, keySpan, key: isScalar(keyNode) ? keyNode.value : undefined };
}

/** The yaml parser slows down quadratically on deeply nested flow collections; no config comes close. */
const MAX_FLOW_DEPTH = 64;

/** Offset of the first bracket nested deeper than MAX_FLOW_DEPTH (quotes and comments aside), if any. */
function tooDeep(text: string): number | undefined {
  let depth = 0;
  let quote = '';
  let comment = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (comment) {
      if (c === '\n') comment = false;
    } else if (quote) {
      if (c === quote) quote = '';
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || /\s/.test(text[i - 1]))) comment = true;
    else if (c === '[' || c === '{') {
      if (++depth > MAX_FLOW_DEPTH) return i;
    } else if ((c === ']' || c === '}') && depth > 0) depth--;
  }
  return undefined;
}

/** Block nodes end after their last line break; ranges stop at the last visible character. */
function trimEnd(text: string, start: number, end: number): Span {
  let e = Math.min(end, text.length);
  while (e > start && /\s/.test(text[e - 1])) e--;
  return [start, e];
}

function matchesKind(node: Node | null, schema: Schema): boolean {
  if (node && isAlias(node)) return true;
  switch (schema.kind) {
    case 'object':
    case 'grid':
      return isMap(node);
    case 'array':
      return isSeq(node);
    case 'boolean':
      return isScalar(node) && typeof node.value === 'boolean';
    case 'number':
      return isScalar(node) && typeof node.value === 'number';
    case 'string':
      return isScalar(node) && typeof node.value === 'string';
    case 'union':
      return schema.anyOf.some((s) => matchesKind(node, s));
  }
}

/** '' when the value is not a number at all, a description when out of bounds, undefined when valid. */
function numberProblem(v: unknown, s: NumberSchema): string | undefined {
  if (typeof v !== 'number') return '';
  if (!Number.isFinite(v)) return String(v);
  if (s.integer && !Number.isInteger(v)) return String(v);
  if (s.minimum !== undefined && v < s.minimum) return String(v);
  if (s.maximum !== undefined && v > s.maximum) return String(v);
  if (s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum) return String(v);
  if (s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum) return String(v);
  return undefined;
}

/** The allowed number closest to `v`, when the bounds are inclusive (an exclusive bound has no closest). */
function nearestValid(v: number, s: NumberSchema): number | undefined {
  if (!Number.isFinite(v) || s.exclusiveMinimum !== undefined || s.exclusiveMaximum !== undefined) return undefined;
  let n = s.integer ? Math.round(v) : v;
  if (s.minimum !== undefined) n = Math.max(n, s.minimum);
  if (s.maximum !== undefined) n = Math.min(n, s.maximum);
  return n === v ? undefined : n;
}

export function describeNumber(s: NumberSchema): string {
  const what = s.integer ? 'an integer' : 'a number';
  const lo = s.minimum ?? s.exclusiveMinimum;
  const hi = s.maximum ?? s.exclusiveMaximum;
  if (lo !== undefined && hi !== undefined) {
    if (s.integer && s.minimum !== undefined && s.maximum !== undefined) return `${what} from ${lo} to ${hi}`;
    return `${what} in ${s.minimum !== undefined ? '[' : '('}${lo}, ${hi}${s.maximum !== undefined ? ']' : ')'}`;
  }
  if (lo !== undefined) return `${what} ${s.minimum !== undefined ? '>=' : '>'} ${lo}`;
  if (hi !== undefined) return `${what} ${s.maximum !== undefined ? '<=' : '<'} ${hi}`;
  return what;
}

function expectedString(values: readonly string[] | undefined): string {
  if (!values) return 'a string';
  if (values.length === 1) return `\`${values[0]}\``;
  return `${values
    .slice(0, -1)
    .map((v) => `\`${v}\``)
    .join(', ')} or \`${values[values.length - 1]}\``;
}

function describe(node: Node | null | undefined): string {
  if (!node) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isAlias(node)) return `the alias *${node.source}`;
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'nothing';
    if (typeof v === 'string') return `the string "${clip(v)}"`;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    return `a ${typeof v} value`;
  }
  return 'an unexpected node';
}

function clip(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what it replaces
  const one = s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  return one.length > 40 ? `${one.slice(0, 37)}...` : one;
}
