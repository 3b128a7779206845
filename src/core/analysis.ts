// One call from text to everything the surfaces show: diagnostics, the resolved config and both graphs.

import type { ResolvedConfig } from './config';
import type { Diagnostic } from './diagnostics';
import { parseConfig, type ParsedConfig } from './document';
import { discriminatorGraph, generatorGraph, type ModelGraph } from './graph';
import { resolveConfig } from './resolve';

export interface Analysis {
  parsed: ParsedConfig;
  config: ResolvedConfig;
  /** Sorted by position. */
  diagnostics: Diagnostic[];
  /** Present when there are no errors. */
  generator?: ModelGraph;
  discriminator?: ModelGraph;
}

export function analyze(text: string): Analysis {
  const parsed = parseConfig(text);
  const { config, diagnostics: semantic } = resolveConfig(parsed);
  // A syntax error makes the rest of the tree guesswork: report only what the parser said until it is fixed.
  const syntax = parsed.diagnostics.filter((d) => d.code === 'yaml-syntax' && d.severity === 'error');
  const diagnostics = (syntax.length ? syntax : [...parsed.diagnostics, ...semantic]).sort(
    (a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character,
  );
  const ok = !diagnostics.some((d) => d.severity === 'error');
  return {
    parsed,
    config,
    diagnostics,
    generator: ok ? generatorGraph(config) : undefined,
    discriminator: ok ? discriminatorGraph(config) : undefined,
  };
}
