// Totals at a glance (code lenses), per-line shapes and params (inlay hints) and the outline (document symbols).

import { runsLabel, safeName } from '../../core/sweep';
import type { Analysis } from '../../core/analysis';
import type { Path, Position, Range } from '../../core/diagnostics';
import type { LayerNode, ModelGraph } from '../../core/graph';
import { kerasShape } from '../../core/kerasSummary';
import { count, si } from '../../core/units';
import { discriminatorFieldHint } from '../../core/receptiveField';

export interface Lens {
  range: Range;
  /** Short, so two lenses on one line fit a narrow editor; `tooltip` says it in full. */
  title: string;
  tooltip: string;
  part: 'generator' | 'discriminator' | 'ablation';
}

export interface Hint {
  position: Position;
  label: string;
  tooltip?: string;
}

export interface OutlineSymbol {
  name: string;
  detail?: string;
  kind: 'module' | 'object' | 'property' | 'array' | 'layer';
  range: Range;
  selectionRange: Range;
  children: OutlineSymbol[];
}

function totalsLens(title: string, g: ModelGraph): Pick<Lens, 'title' | 'tooltip'> {
  const t = g.totals;
  return {
    title: `${title}: ${count(t.params)} params · ${si(t.macs)} MACs`,
    tooltip:
      `${title}: ${count(t.params)} params (${count(t.trainableParams)} trainable, ` +
      `${count(t.nonTrainableParams)} non-trainable) · MACs ${count(t.macs)}. Click for the Keras summary.`,
  };
}

export function codeLenses(analysis: Analysis): Lens[] {
  const { parsed, generator, discriminator } = analysis;
  if (!generator || !discriminator) return [];
  const at = (key: string): Range => {
    const loc = parsed.locate([key]);
    const line = loc?.key ? parsed.lines.position(loc.key[0]).line : 0;
    return { start: { line, character: 0 }, end: { line, character: 0 } };
  };
  const lenses: Lens[] = [
    { range: at('generator'), ...totalsLens('Generator', generator), part: 'generator' },
    { range: at('discriminator'), ...totalsLens('Discriminator', discriminator), part: 'discriminator' },
  ];
  const sweep = analysis.sweep;
  if (sweep && sweep.variants.length) {
    const steps = sweep.steps ? `, ${count(sweep.steps)} steps each` : '';
    lenses.push({
      range: at('ablation'),
      title: `$(beaker) Run Ablation: ${runsLabel(sweep)}`,
      tooltip: `Trains ${runsLabel(sweep)} into runs/${safeName(sweep.name)}${steps}`,
      part: 'ablation',
    });
  }
  return lenses;
}

const levelLayers = (g: ModelGraph, part: LayerNode['part'], level: number) =>
  g.layers.filter((l) => l.part === part && l.level === level);
const paramsOf = (layers: readonly LayerNode[]) => layers.reduce((s, l) => s + l.params, 0);
const lastShape = (layers: readonly LayerNode[]) => kerasShape(layers[layers.length - 1].outputShape);

function levelList(levels: number[]): string {
  if (!levels.length) return 'none';
  const runs: string[] = [];
  let start = levels[0];
  for (let i = 1; i <= levels.length; i++) {
    if (levels[i] !== levels[i - 1] + 1) {
      const end = levels[i - 1];
      runs.push(end === start ? `${start}` : end === start + 1 ? `${start}, ${end}` : `${start}–${end}`);
      start = levels[i];
    }
  }
  return runs.join(', ');
}

/** " · 7 levels, patch 64 (from size 128)" for what is not written and follows `input.size`. */
function followsSize(analysis: Analysis): string {
  const written = (path: Path) => !!analysis.parsed.locate(path);
  const { generator, discriminator, input } = analysis.config;
  const parts = [
    ...(written(['generator', 'levels']) ? [] : [`${generator.levels} levels`]),
    ...(written(['discriminator', 'patch']) ? [] : [`patch ${discriminator.patch}`]),
  ];
  return parts.length ? ` · ${parts.join(', ')} (from size ${input.size})` : '';
}

export function inlayHints(analysis: Analysis): Hint[] {
  const { parsed, generator: g, discriminator: d, config } = analysis;
  if (!g || !d) return [];
  const hints: Hint[] = [];
  const used = new Set<number>();
  const atLineEnd = (path: Path, label: string, tooltip?: string) => {
    const loc = parsed.locate(path);
    if (!loc) return;
    const line = parsed.lines.position((loc.key ?? loc.value)[0]).line;
    if (used.has(line)) return;
    used.add(line);
    const lineEnd = parsed.lines.offset({ line: line + 1, character: 0 });
    let end = lineEnd;
    while (end > 0 && (parsed.text[end - 1] === '\n' || parsed.text[end - 1] === '\r')) end--;
    hints.push({
      position: parsed.lines.position(Math.max(end, parsed.lines.offset({ line, character: 0 }))),
      label,
      tooltip,
    });
  };

  config.generator.decoder.forEach((entry) => {
    const index = Array.isArray((parsed.value.generator as Record<string, unknown> | undefined)?.decoder)
      ? (parsed.value.generator as Record<string, unknown[]>).decoder.findIndex(
          (e) => (e as Record<string, unknown> | undefined)?.level === entry.level,
        )
      : -1;
    if (index < 0) return;
    const layers = levelLayers(g, 'decoder', entry.level);
    atLineEnd(
      ['generator', 'decoder', index],
      `${lastShape(layers)} · ${count(paramsOf(layers))} params`,
      `decoder level ${entry.level}`,
    );
  });
  const input = g.layers[0];
  atLineEnd(['input'], `${kerasShape(input.outputShape)}${followsSize(analysis)}`);
  atLineEnd(['output'], kerasShape(g.layers[g.layers.length - 1].outputShape));
  const encoder = g.layers.filter((l) => l.part === 'encoder');
  atLineEnd(['generator', 'levels'], `bottleneck ${lastShape(encoder)} · encoder ${count(paramsOf(encoder))} params`);
  const skips = config.generator.decoder.filter((e) => e.skip).map((e) => e.level);
  const decoderCount = config.generator.decoder.length;
  atLineEnd(
    ['generator', 'skips'],
    skips.length === decoderCount
      ? `skips on all ${decoderCount} levels`
      : skips.length
        ? `skips on ${levelList(skips)} of 1–${decoderCount}`
        : 'no skips: an encoder-decoder',
  );
  const drops = config.generator.decoder.filter((e) => e.dropout > 0).map((e) => e.level);
  atLineEnd(['generator', 'dropout'], drops.length ? `dropout on ${levelList(drops)}` : 'no dropout');
  atLineEnd(['discriminator'], discriminatorFieldHint(d, config.discriminator.patch));
  const grid = config.input.size / config.discriminator.patch;
  atLineEnd(
    ['discriminator', 'patch'],
    `${grid * grid} patch${grid * grid === 1 ? '' : 'es'} of ${config.discriminator.patch}x${config.discriminator.patch}`,
  );
  return hints.sort((a, b) => a.position.line - b.position.line);
}

export function documentSymbols(analysis: Analysis): OutlineSymbol[] {
  const { parsed, generator: g } = analysis;
  const lines = parsed.lines;
  const byParent = new Map<string, OutlineSymbol[]>();
  const roots: OutlineSymbol[] = [];
  for (const loc of parsed.locations) {
    if (!loc.path.length) continue;
    const last = loc.path[loc.path.length - 1];
    const start = loc.key ? loc.key[0] : loc.value[0];
    const sym: OutlineSymbol = {
      name: typeof last === 'number' ? `[${last}]` : last,
      kind: loc.path.length === 1 ? 'module' : 'property',
      range: lines.range(start, Math.max(loc.value[1], start)),
      selectionRange: lines.range(start, loc.key ? loc.key[1] : loc.value[1]),
      children: [],
    };
    byParent.set(loc.path.join('\u0000'), sym.children);
    const parent = loc.path.length === 1 ? roots : byParent.get(loc.path.slice(0, -1).join('\u0000'));
    parent?.push(sym);
  }
  const generator = roots.find((s) => s.name === 'generator');
  if (g && generator) {
    const decoderEntries = (parsed.value.generator as Record<string, unknown> | undefined)?.decoder;
    const levelsRange = parsed.rangeOf(['generator', 'levels']);
    const encoderLevels = Math.max(...g.layers.filter((l) => l.part === 'encoder').map((l) => l.level ?? 0));
    for (let i = 1; i <= encoderLevels; i++) {
      const layers = levelLayers(g, 'encoder', i);
      generator.children.push({
        name: `encoder level ${i}`,
        detail: `${lastShape(layers)} · ${count(paramsOf(layers))} params`,
        kind: 'layer',
        range: levelsRange,
        selectionRange: levelsRange,
        children: [],
      });
    }
    for (const entry of analysis.config.generator.decoder) {
      const layers = levelLayers(g, 'decoder', entry.level);
      const index = Array.isArray(decoderEntries)
        ? decoderEntries.findIndex((e) => (e as Record<string, unknown> | undefined)?.level === entry.level)
        : -1;
      const range =
        index >= 0 ? parsed.rangeOf(['generator', 'decoder', index]) : parsed.rangeOf(['generator', 'skips']);
      const notes = `${entry.skip ? ' · skip' : ''}${entry.dropout > 0 ? ` · dropout ${entry.dropout}` : ''}`;
      generator.children.push({
        name: `decoder level ${entry.level}`,
        detail: `${lastShape(layers)} · ${count(paramsOf(layers))} params${notes}`,
        kind: 'layer',
        range,
        selectionRange: range,
        children: [],
      });
    }
    generator.detail = `${count(g.totals.params)} params`;
  }
  const discriminator = roots.find((s) => s.name === 'discriminator');
  if (analysis.discriminator && discriminator)
    discriminator.detail = `${count(analysis.discriminator.totals.params)} params`;
  return roots;
}
