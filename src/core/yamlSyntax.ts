// YAML syntax errors in words a config author reads, at the place they start: an unclosed bracket or quote is
// reported at the token that opened it (the parser notices only where it gave up), a duplicate key by name.

import { isCollection, isMap, isScalar, visit, type Document, type Node, type YAMLError, type YAMLMap } from 'yaml';
import type { Diagnostic, LineIndex, Span } from './diagnostics';

export function syntaxDiagnostic(doc: Document.Parsed, err: YAMLError, lines: LineIndex): Diagnostic {
  const severity = err.name === 'YAMLWarning' ? 'warning' : 'error';
  const at: Span = [err.pos[0], Math.max(err.pos[1], err.pos[0])];
  const { message, span } = described(doc, err, at, lines);
  return { severity, code: 'yaml-syntax', message, range: lines.range(span[0], span[1]) };
}

function described(doc: Document.Parsed, err: YAMLError, at: Span, lines: LineIndex): { message: string; span: Span } {
  const gaveUp = `line ${lines.position(at[0]).line + 1}`;
  if (err.code === 'MULTIPLE_DOCS')
    return { message: 'a .p2p.yaml file holds one config: remove the second document (after `---`)', span: at };
  if (err.code === 'DUPLICATE_KEY') return duplicateKey(doc, at, lines);
  const flow = /^Flow (map|sequence)/.exec(err.message)?.[1];
  if (flow) {
    const open = innermost(doc, at[0], (n) => isCollection(n) && !!n.flow && isMap(n) === (flow === 'map'));
    const [o, c] = flow === 'map' ? ['{', '}'] : ['[', ']'];
    if (open !== undefined)
      return {
        message: `unclosed \`${o}\`: this flow ${flow === 'map' ? 'mapping' : 'list'} needs a \`${c}\` (the parser gave up at ${gaveUp})`,
        span: [open, open + 1],
      };
  }
  const quote = /^Missing closing (["'])quote/.exec(err.message)?.[1];
  if (quote) {
    const open = innermost(
      doc,
      at[0],
      (n) => isScalar(n) && n.type === (quote === '"' ? 'QUOTE_DOUBLE' : 'QUOTE_SINGLE'),
    );
    if (open !== undefined)
      return { message: `unclosed \`${quote}\`: this string needs a closing \`${quote}\``, span: [open, open + 1] };
  }
  return { message: err.message.split('\n')[0], span: at };
}

/** Start of the innermost node that `matches` and reaches from before `pos` up to it. */
function innermost(doc: Document.Parsed, pos: number, matches: (n: Node) => boolean): number | undefined {
  let best: number | undefined;
  visit(doc, {
    Node(_key, node) {
      const r = node.range;
      if (r && r[0] < pos && r[1] >= pos && matches(node) && (best === undefined || r[0] > best)) best = r[0];
    },
  });
  return best;
}

/** `duplicate key \`size\` (first at line 2)`, at the repeated key. */
function duplicateKey(doc: Document.Parsed, at: Span, lines: LineIndex): { message: string; span: Span } {
  let found: { name: string; span: Span; first?: number } | undefined;
  visit(doc, {
    Map(_key, map: YAMLMap) {
      const keys = map.items.map((p) => p.key).filter(isScalar);
      const repeated = keys.find((k) => k.range?.[0] === at[0]);
      if (!repeated?.range) return;
      const first = keys.find((k) => k.value === repeated.value && k !== repeated);
      found = { name: String(repeated.value), span: [repeated.range[0], repeated.range[1]], first: first?.range?.[0] };
      return visit.BREAK;
    },
  });
  if (!found) return { message: 'duplicate key: each key may appear once in a mapping', span: at };
  const first = found.first !== undefined ? ` (first at line ${lines.position(found.first).line + 1})` : '';
  return {
    message: `duplicate key \`${found.name}\`${first}: each key may appear once in a mapping`,
    span: found.span,
  };
}
