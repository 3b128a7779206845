// Parse `.p2p.yaml` text and check it against the schema, keeping the source range of every key and value.

import { isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { didYouMean } from './didYouMean';
import { formatPath, LineIndex, pathKey, type Diagnostic, type Path, type Range, type Severity } from './diagnostics';
import { childSchema, configSchema, gridPaths, type NumberSchema, type Schema } from './schema';

/** Offsets into the text: [start, end). */
export type Span = readonly [number, number];

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
export const MAX_DOCUMENT_CHARS = 1_000_000;
/** Bound on nodes visited, so alias expansion ("billion laughs") cannot blow up. */
const MAX_NODES = 20_000;

export function parseConfig(text: string): ParsedConfig {
  const lines = new LineIndex(text);
  const diagnostics: Diagnostic[] = [];
  const locations: Location[] = [];
  const byPath = new Map<string, Location>();
  let value: Record<string, unknown> = {};

  const locate = (path: Path) => byPath.get(pathKey(path));
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
  const result = (): ParsedConfig => ({ text, lines, value, diagnostics, locations, rangeOf, locate });

  if (text.length > MAX_DOCUMENT_CHARS) {
    diagnostics.push({
      severity: 'error',
      code: 'too-large',
      message: `document too large: ${text.length.toLocaleString('en-US')} characters; a .p2p.yaml config is expected to be under ${MAX_DOCUMENT_CHARS.toLocaleString('en-US')}`,
      range: lines.range(0, 0),
    });
    return result();
  }

  const deep = tooDeep(text);
  if (deep !== undefined) {
    diagnostics.push({
      severity: 'error',
      code: 'too-deep',
      message: `flow collections nested deeper than ${MAX_FLOW_DEPTH} levels; a .p2p.yaml config needs at most 4`,
      range: lines.range(deep, deep + 1),
    });
    return result();
  }

  const counter = new LineCounter();
  let doc: Document.Parsed;
  try {
    doc = parseDocument(text, { lineCounter: counter, prettyErrors: false, uniqueKeys: true, strict: true });
  } catch (e) {
    // The yaml parser recurses on nested collections; absurd nesting can exhaust the stack.
    diagnostics.push({
      severity: 'error',
      code: 'yaml-syntax',
      message: `cannot parse YAML: ${e instanceof Error ? e.message : String(e)}`,
      range: lines.range(0, 0),
    });
    return result();
  }
  for (const err of [...doc.errors, ...doc.warnings]) {
    diagnostics.push({
      severity: doc.errors.includes(err) ? 'error' : 'warning',
      code: 'yaml-syntax',
      message: yamlMessage(err.code, err.message),
      range: lines.range(err.pos[0], Math.max(err.pos[1], err.pos[0])),
    });
  }

  let visited = 0;
  const report = (severity: Severity, code: string, message: string, span: Span) =>
    diagnostics.push({ severity, code, message, range: lines.range(span[0], span[1]) });

  const record = (path: Path, node: Node | null, keySpan: Span | undefined, fallback: Span): Span => {
    const span: Span = node?.range ? trimEnd(text, node.range[0], node.range[1]) : fallback;
    const loc: Location = { path, key: keySpan, value: span };
    locations.push(loc);
    byPath.set(pathKey(path), loc);
    return span;
  };

  // Returns the validated plain value, or undefined after reporting why it is invalid.
  const walk = (node: Node | null, schema: Schema, path: Path, span: Span): unknown => {
    if (++visited > MAX_NODES) {
      if (visited === MAX_NODES + 1)
        report(
          'error',
          'too-complex',
          `document too complex: more than ${MAX_NODES} nodes after expanding aliases`,
          span,
        );
      return undefined;
    }
    if (node && isAlias(node)) {
      const target = node.resolve(doc);
      return target ? walk(target as Node, schema, path, span) : undefined;
    }
    const where = formatPath(path) || 'the document';

    if (schema.kind === 'union') {
      const alt = schema.anyOf.find((s) => matchesKind(node, s));
      if (!alt) {
        report('error', 'type', `\`${where}\`: expected ${schema.expected}, found ${describe(node)}`, span);
        return undefined;
      }
      return walk(node, alt, path, span);
    }

    if (schema.kind === 'object') {
      if (node === null || (isScalar(node) && node.value === null)) return {}; // `key:` with nothing yet
      if (!isMap(node)) {
        report(
          'error',
          'type',
          `\`${where}\`: expected a mapping (${Object.keys(schema.properties).join(', ')}), found ${describe(node)}`,
          span,
        );
        return undefined;
      }
      const out: Record<string, unknown> = {};
      const known = Object.keys(schema.properties);
      for (const pair of node.items) {
        const { keyNode, keySpan, key } = keyOf(pair, span);
        if (typeof key !== 'string') {
          report(
            'error',
            'key-type',
            `\`${where}\`: keys are names (${known.join(', ')}), found ${describe(keyNode)}`,
            keySpan,
          );
          continue;
        }
        const child = schema.properties[key];
        if (!child) {
          const guess = didYouMean(key, known);
          const inWhere = path.length ? ` in \`${where}\`` : '';
          report(
            'error',
            'unknown-key',
            guess
              ? `unknown key \`${key}\`${inWhere}; did you mean \`${guess}\`?`
              : `unknown key \`${key}\`${inWhere}; expected one of: ${known.join(', ')}`,
            keySpan,
          );
          continue;
        }
        const childPath = [...path, key];
        const { v } = walkPair(pair, child, childPath, keySpan);
        if (v !== undefined) out[key] = v;
      }
      return out;
    }

    if (schema.kind === 'grid') {
      if (node === null || (isScalar(node) && node.value === null)) return {};
      if (!isMap(node)) {
        report(
          'error',
          'type',
          `\`${where}\`: expected a mapping from config paths (\`generator.upsampling\`) to lists of values, found ${describe(node)}`,
          span,
        );
        return undefined;
      }
      const out: Record<string, unknown> = {};
      const known = [...gridPaths().keys()];
      for (const pair of node.items) {
        const { keyNode, keySpan, key } = keyOf(pair, span);
        const child = typeof key === 'string' ? childSchema(schema, key) : undefined;
        if (typeof key !== 'string' || !child) {
          const guess = typeof key === 'string' ? didYouMean(key, known) : undefined;
          report(
            'error',
            'unknown-key',
            `\`${where}\`: ${typeof key === 'string' ? `\`${clip(key)}\` is not a config path a variant can change` : `keys are config paths, found ${describe(keyNode)}`}${
              guess
                ? `; did you mean \`${guess}\`?`
                : ` (e.g. ${known
                    .slice(0, 3)
                    .map((k) => `\`${k}\``)
                    .join(', ')})`
            }`,
            keySpan,
          );
          continue;
        }
        const childPath = [...path, key];
        const { v, valueSpan } = walkPair(pair, child, childPath, keySpan);
        if (Array.isArray(v) && v.length === 0) {
          report('error', 'range', `\`${formatPath(childPath)}\`: list at least one value`, valueSpan);
          continue;
        }
        if (v !== undefined) out[key] = v;
      }
      return out;
    }

    if (schema.kind === 'array') {
      if (!isSeq(node)) {
        report('error', 'type', `\`${where}\`: expected a list, found ${describe(node)}`, span);
        return undefined;
      }
      if (schema.maxItems !== undefined && node.items.length > schema.maxItems) {
        report(
          'error',
          'range',
          `\`${where}\`: expected at most ${schema.maxItems} items, found ${node.items.length}`,
          span,
        );
        return undefined;
      }
      const out: unknown[] = [];
      node.items.forEach((item, i) => {
        const childPath = [...path, i];
        const itemSpan = record(childPath, item as Node | null, undefined, span);
        const v = walk(item as Node | null, schema.items, childPath, itemSpan);
        out.push(v); // undefined keeps indices matching source positions
      });
      return out;
    }

    const scalar = isScalar(node) ? node.value : undefined;
    if (schema.kind === 'boolean') {
      if (typeof scalar === 'boolean') return scalar;
      report('error', 'type', `\`${where}\`: expected \`true\` or \`false\`, found ${describe(node)}`, span);
      return undefined;
    }
    if (schema.kind === 'string') {
      if (typeof scalar !== 'string') {
        report('error', 'type', `\`${where}\`: expected ${expectedString(schema.enum)}, found ${describe(node)}`, span);
        return undefined;
      }
      if (schema.enum && !schema.enum.includes(scalar)) {
        const guess = didYouMean(scalar, schema.enum);
        report(
          'error',
          'enum',
          `\`${where}\`: expected ${expectedString(schema.enum)}, found \`${clip(scalar)}\`${guess ? `; did you mean \`${guess}\`?` : ''}`,
          span,
        );
        return undefined;
      }
      return scalar;
    }
    // number
    const problem = numberProblem(scalar, schema);
    if (problem !== undefined) {
      report(
        'error',
        typeof scalar === 'number' ? 'range' : 'type',
        `\`${where}\`: expected ${describeNumber(schema)}, found ${problem || describe(node)}`,
        span,
      );
      return undefined;
    }
    return scalar;
  };

  // A mapping entry's value: located (an empty value sits right after its key), then validated.
  function walkPair(
    pair: { value: unknown },
    child: Schema,
    childPath: Path,
    keySpan: Span,
  ): { v: unknown; valueSpan: Span } {
    const valueNode = pair.value as Node | null;
    const valueSpan = record(childPath, valueNode, keySpan, [keySpan[1], keySpan[1]]);
    return { v: walk(valueNode, child, childPath, valueSpan), valueSpan };
  }

  const root = doc.contents as Node | null;
  const rootSpan: Span = root?.range ? trimEnd(text, root.range[0], root.range[1]) : [0, 0];
  record([], root, undefined, rootSpan);
  const isEmpty = root === null || (isScalar(root) && root.value === null);
  if (!isEmpty) {
    if (!isMap(root) && !isAlias(root)) {
      report(
        'error',
        'type',
        `expected a mapping at the top level (${Object.keys(configSchema.properties).join(', ')}), found ${describe(root)}`,
        rootSpan,
      );
    } else {
      value = (walk(root, configSchema, [], rootSpan) as Record<string, unknown> | undefined) ?? {};
    }
  }
  return result();
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

function yamlMessage(code: string, message: string): string {
  if (code === 'MULTIPLE_DOCS') return 'a .p2p.yaml file holds one config: remove the second document (after `---`)';
  if (code === 'DUPLICATE_KEY') return 'duplicate key: each key may appear once in a mapping';
  return message.split('\n')[0];
}
