// One call from text to everything the surfaces show: diagnostics, the resolved config and both graphs.

import type { ResolvedConfig } from './config';
import type { Diagnostic } from './diagnostics';
import { parseConfig, type ParsedConfig } from './document';
import { discriminatorGraph, generatorGraph, type ModelGraph } from './graph';
import { binaryBytes, describeStepMemory, stepMemory, WASM_HEAP_BYTES } from './memory';
import { resolveConfig } from './resolve';
import { expandSweep, type Sweep } from './sweep';

export interface Analysis {
  parsed: ParsedConfig;
  config: ResolvedConfig;
  /** Sorted by position. */
  diagnostics: Diagnostic[];
  /** Present when there are no errors. */
  generator?: ModelGraph;
  discriminator?: ModelGraph;
  /** The expanded `ablation:` section, when there is one and the base has no errors. */
  sweep?: Sweep;
}

/** `name` names the config when it has no `name:` key (the file name without `.p2p.yaml`). */
export function analyze(text: string, name = 'config'): Analysis {
  const parsed = parseConfig(text);
  const { config, diagnostics: semantic } = resolveConfig(parsed);
  // A syntax error makes the rest of the tree guesswork: report only what the parser said until it is fixed.
  const syntax = parsed.diagnostics.filter((d) => d.code === 'yaml-syntax' && d.severity === 'error');
  const diagnostics = syntax.length ? syntax : [...parsed.diagnostics, ...semantic];
  // Errors inside `ablation:` concern the sweep only: the base model is still shown.
  const ablation = parsed.locate(['ablation']);
  const inAblation = (d: Diagnostic) => {
    if (!ablation) return false;
    const at = parsed.lines.offset(d.range.start);
    return at >= (ablation.key ?? ablation.value)[0] && at <= ablation.value[1];
  };
  const ok = !diagnostics.some((d) => d.severity === 'error' && !inAblation(d));
  const generator = ok ? generatorGraph(config) : undefined;
  const discriminator = ok ? discriminatorGraph(config) : undefined;
  let sweep: Sweep | undefined;
  if (generator && discriminator) {
    const expanded = expandSweep(parsed, { config, generator, discriminator, name: config.name ?? name });
    if (expanded) {
      sweep = expanded.sweep;
      diagnostics.push(...expanded.diagnostics);
    }
  }
  if (generator && discriminator) diagnostics.push(...memoryDiagnostics(parsed, config, generator, discriminator));
  diagnostics.sort(
    (a, b) => a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character,
  );
  return { parsed, config, diagnostics, generator, discriminator, sweep };
}

/** A warning on `input.size` when a training step cannot fit the wasm backend's heap (it may on a GPU). */
function memoryDiagnostics(
  parsed: ParsedConfig,
  config: ResolvedConfig,
  generator: ModelGraph,
  discriminator: ModelGraph,
): Diagnostic[] {
  const m = stepMemory(config, generator, discriminator);
  if (m.total <= WASM_HEAP_BYTES) return [];
  const message =
    `a training step needs ${describeStepMemory(m, config.train.batchSize)}: more than the wasm backend's ` +
    `${binaryBytes(WASM_HEAP_BYTES)}, so it trains only on a GPU with that much memory; lower \`input.size\`, ` +
    '`train.batchSize` or `generator.filters` to train on a CPU';
  return [{ severity: 'warning', code: 'step-memory', message, range: parsed.rangeOf(['input', 'size']) }];
}
