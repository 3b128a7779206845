// Hovers: the Keras rows of the part under the cursor, with what Keras does not show, and every key's docs.

import type { Analysis } from '../../core/analysis';
import { derivedDefault, type ResolvedConfig } from '../../core/config';
import { errorCount, formatPath, type Path, type Span } from '../../core/diagnostics';
import { describeNumber } from '../../core/document';
import { channelArithmetic, type LayerNode, type ModelGraph } from '../../core/graph';
import { kerasShape, kerasSummary } from '../../core/kerasSummary';
import { schemaAt, type Schema } from '../../core/schema';
import { skipEffect } from '../../core/skipEffect';
import { convolutionFields, discriminatorField, fieldText, receptiveFields } from '../../core/receptiveField';
import { describeVariant, modelVariants, runsLabel, variantsAt } from '../../core/sweep';
import { bytes, count, si, signedCount } from '../../core/units';
import { contextAt, decoderLevelAt } from './context';
import { binaryBytes, dataBytes, describeStepMemory, stepMemory, WASM_HEAP_BYTES } from '../../core/memory';

export interface HoverResult {
  markdown: string;
  span: Span;
}

export function hover(analysis: Analysis, offset: number): HoverResult | undefined {
  const ctx = contextAt(analysis.parsed, offset);
  if (!ctx) return undefined;
  const sections: string[] = [];
  const numbers = numbersFor(analysis, ctx.path);
  if (numbers) sections.push(numbers);
  else if (ctx.path[0] === 'ablation') sections.push(sweepSection(analysis, ctx.path));
  else if (!analysis.generator && isModelPath(ctx.path)) {
    const errors = analysis.diagnostics.filter((d) => d.severity === 'error').length;
    sections.push(`_No shapes or parameter counts while the config has ${errorCount(errors)}._`);
  }
  sections.push(keyDocs(ctx.path, ctx.on === 'value' ? valueAt(analysis, ctx.path) : undefined, analysis.config));
  return { markdown: sections.join('\n\n---\n\n'), span: ctx.span };
}

const isModelPath = (path: Path) => ['input', 'output', 'generator', 'discriminator'].includes(String(path[0]));

function valueAt(analysis: Analysis, path: Path): unknown {
  let v: unknown = analysis.parsed.value;
  for (const seg of path) v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[seg] : undefined;
  return v;
}

/**
 * The schema's documentation of a key, its default and accepted values; on an enumerated value, that value's docs.
 * With the document's `config`, a default that follows other keys is given with where it came from.
 */
export function keyDocs(path: Path, value?: unknown, config?: ResolvedConfig): string {
  const schema = schemaAt(path);
  const name = formatPath(path);
  if (!schema) return `\`${name}\``;
  const lines = [`**\`${name}\`** — ${schema.doc}`];
  const enumDoc = typeof value === 'string' ? enumDocOf(schema, value) : undefined;
  if (enumDoc) lines.push(`\`${value}\`: ${enumDoc}`);
  const accepted = describeSchema(schema);
  if (accepted) lines.push(`Accepts ${accepted}.`);
  const derived = config && derivedDefault(path.join('.'), config);
  if (derived) lines.push(`Default: \`${JSON.stringify(derived.value)}\`, from ${derived.from}`);
  else if (schema.default !== undefined) lines.push(`Default: \`${JSON.stringify(schema.default)}\``);
  return lines.join('\n\n');
}

function enumDocOf(schema: Schema, value: string): string | undefined {
  if (schema.kind === 'string') return schema.enumDocs?.[value];
  if (schema.kind === 'union')
    for (const alt of schema.anyOf) if (alt.kind === 'string' && alt.enumDocs?.[value]) return alt.enumDocs[value];
  return undefined;
}

function describeSchema(s: Schema): string | undefined {
  switch (s.kind) {
    case 'number':
      return describeNumber(s);
    case 'string':
      return s.enum ? s.enum.map((v) => `\`${v}\``).join(', ') : 'a string';
    case 'boolean':
      return '`true` or `false`';
    case 'union':
      return s.expected;
    case 'array':
      return 'a list';
    case 'object':
      return `a mapping of ${Object.keys(s.properties)
        .map((k) => `\`${k}\``)
        .join(', ')}`;
    case 'grid':
      return 'a mapping from config paths to lists of values';
  }
}

function numbersFor(analysis: Analysis, path: Path): string | undefined {
  const g = analysis.generator;
  const d = analysis.discriminator;
  if (!g || !d) return undefined;
  const [top, second] = path;
  const level = decoderLevelAt(analysis.parsed, path);

  if (top === 'generator' && path.length === 1) return totalsSection('Generator', g, true);
  if (top === 'discriminator' && path.length === 1) return totalsSection('Discriminator', d, true);
  if (top === 'discriminator')
    return [
      totalsSection('Discriminator', d, false),
      discriminatorFieldSection(d, analysis.config.discriminator.patch),
    ].join('\n\n');
  if (top === 'input')
    return (
      partSection(
        'Input and encoder level 1',
        g.layers.filter((l) => l.part === 'input' || (l.part === 'encoder' && l.level === 1)),
      ) + `\n\n${memorySection(analysis, g, d)}`
    );
  if (top === 'train' && (path.length === 1 || second === 'batchSize')) return memorySection(analysis, g, d);
  if (top === 'output')
    return partSection(
      'Output',
      g.layers.filter((l) => l.part === 'output'),
    );
  if (top !== 'generator') return undefined;

  if (level !== undefined) {
    const parts = [decoderSection(analysis, g, level)];
    const onSkip = second === 'skips' || (second === 'decoder' && path[3] === 'skip');
    if (onSkip) parts.push(flipSection(analysis, g, level));
    return parts.join('\n\n');
  }
  switch (second) {
    case 'levels':
    case 'filters':
    case 'maxMultiplier':
    case 'kernel':
      return encoderSection(g);
    case 'skips':
      return skipsSection(analysis, g);
    case 'dropout':
      return dropoutSection(g);
    case 'upsampling':
    case 'decoder':
      return decoderOverview(g);
  }
  return undefined;
}

/** What a training step takes in memory, and whether that fits the wasm backend. */
function memorySection(analysis: Analysis, g: ModelGraph, d: ModelGraph): string {
  const m = stepMemory(analysis.config, g, d);
  const fits = m.total <= WASM_HEAP_BYTES ? 'fits' : '**does not fit**';
  const step = `**Memory of a training step**: ${describeStepMemory(m, analysis.config.train.batchSize)}`;
  const wasm = `${fits} the wasm backend's ${binaryBytes(WASM_HEAP_BYTES)}`;
  return `${step}; ${wasm}. Data: ${binaryBytes(dataBytes(analysis.config, 1000))} per 1,000 images.`;
}

function totalsSection(title: string, graph: ModelGraph, withSummary: boolean): string {
  const t = graph.totals;
  const lines = [
    `**${title}** \`${graph.name}\``,
    `Total params: ${count(t.params)}  \nTrainable params: ${count(t.trainableParams)}  \nNon-trainable params: ${count(t.nonTrainableParams)}`,
    `MACs: ${si(t.macs)} per image · activations: ${bytes(t.activationBytes)} per image (float32)`,
  ];
  if (withSummary) lines.push('```text\n' + kerasSummary(graph) + '```');
  return lines.join('\n\n');
}

function rowsTable(layers: readonly LayerNode[]): string {
  const rows = layers.map((l) => `| ${l.name} (${l.className}) | ${kerasShape(l.outputShape)} | ${count(l.params)} |`);
  return ['| Layer (type) | Output Shape | Param # |', '|---|---|---:|', ...rows].join('\n');
}

function sums(layers: readonly LayerNode[]): string {
  const params = layers.reduce((s, l) => s + l.params, 0);
  const trainable = layers.reduce((s, l) => s + l.trainableParams, 0);
  const macs = layers.reduce((s, l) => s + l.macs, 0);
  const act = layers.reduce((s, l) => s + l.activationBytes, 0);
  return `Params: ${count(params)} (${count(trainable)} trainable) · MACs: ${si(macs)} · activations: ${bytes(act)} per image`;
}

function partSection(title: string, layers: readonly LayerNode[]): string {
  return [`**${title}**`, rowsTable(layers), sums(layers)].join('\n\n');
}

function decoderSection(analysis: Analysis, g: ModelGraph, level: number): string {
  const layers = g.layers.filter((l) => l.part === 'decoder' && l.level === level);
  if (!layers.length) return `_Decoder level ${level} does not exist._`;
  const out = layers[layers.length - 1].outputShape;
  const entry = analysis.config.generator.decoder[level - 1];
  const concat = layers.find((l) => l.skip);
  const skip = entry.skip ? 'skip on' : 'no skip';
  const dropout = entry.dropout > 0 ? `dropout ${entry.dropout}` : 'no dropout';
  const head = `**Decoder level ${level}** · ${out[0]}x${out[1]} · ${skip} · ${dropout}`;
  const parts = [head, rowsTable(layers)];
  if (concat?.skip) {
    parts.push(
      `Channels: ${channelArithmetic(concat)} (from \`${concat.skip.from}\`, encoder level ${concat.skip.encoderLevel})`,
    );
  }
  parts.push(sums(layers));
  return parts.join('\n\n');
}

function flipSection(analysis: Analysis, g: ModelGraph, level: number): string {
  const e = skipEffect(analysis.config, level, g);
  if (!e) return '';
  const verb = e.now ? 'Removing this skip' : 'Adding this skip';
  return (
    `**${verb}** (level ${level}): ${signedCount(e.paramsFlipped - e.paramsNow)} params ` +
    `(${count(e.paramsNow)} → ${count(e.paramsFlipped)}), MACs ${si(e.macsNow)} → ${si(e.macsFlipped)}; ` +
    `\`${e.nextConv.name}\` reads ${e.nextConv.inputChannelsNow} → ${e.nextConv.inputChannelsFlipped} channels`
  );
}

/** The trunk's convolutions with what each sees of its patch, and what one real/fake decision classifies. */
function discriminatorFieldSection(d: ModelGraph, patch: number): string {
  const rows = convolutionFields(d).map(
    ({ layer, field }) =>
      `| ${layer.name} (${layer.className}) | ${kerasShape(layer.outputShape)} | ${count(layer.params)} | ${fieldText(field.size, patch, 'patch')} |`,
  );
  const { trunk, lastConv } = discriminatorField(d, patch);
  const reading =
    `**Receptive field**: each real/fake unit (\`disc_dense\`) classifies one ${patch}x${patch} patch (its Dense ` +
    `layer reads the whole tile); the trunk's last convolution, \`${lastConv}\`, sees ${fieldText(trunk.size, patch, 'patch')} ` +
    `of it. (The paper's chained PatchGAN has no Dense layer: its 70x70 comes from its 4x4 convolutions alone.)`;
  const table = ['| Layer (type) | Output Shape | Param # | Receptive field |', '|---|---|---:|---:|', ...rows];
  return [table.join('\n'), reading].join('\n\n');
}

function encoderSection(g: ModelGraph): string {
  const rows: string[] = ['| Level | Conv | Output Shape | Params | Receptive field |', '|---:|---|---|---:|---:|'];
  const fields = receptiveFields(g);
  const image = g.layers[0].outputShape[0];
  const maxLevel = Math.max(...g.layers.filter((l) => l.part === 'encoder').map((l) => l.level ?? 0));
  for (let i = 1; i <= maxLevel; i++) {
    const layers = g.layers.filter((l) => l.part === 'encoder' && l.level === i);
    const last = layers[layers.length - 1];
    const conv = layers.find((l) => l.className === 'Conv2D')!;
    const params = count(layers.reduce((s, l) => s + l.params, 0));
    const field = fieldText(fields.get(conv.name)!.size, image, 'image');
    rows.push(`| ${i} | ${conv.name} | ${kerasShape(last.outputShape)} | ${params} | ${field} |`);
  }
  const encoder = g.layers.filter((l) => l.part === 'encoder');
  const bottleneck = fields.get(encoder[encoder.length - 1].name)!.size;
  return [
    `**Encoder** · ${maxLevel} levels · bottleneck ${kerasShape(encoder[encoder.length - 1].outputShape)}, ` +
      `which sees ${fieldText(bottleneck, image, 'image')}`,
    rows.join('\n'),
    sums(encoder),
  ].join('\n\n');
}

function decoderOverview(g: ModelGraph): string {
  const rows: string[] = ['| Level | Conv | Output Shape | Skip | Params |', '|---:|---|---|---|---:|'];
  const levels = [...new Set(g.layers.filter((l) => l.part === 'decoder').map((l) => l.level!))];
  for (const level of levels) {
    const layers = g.layers.filter((l) => l.part === 'decoder' && l.level === level);
    const conv = layers.find((l) => l.name.startsWith('unet_upconv2D'))!;
    const concat = layers.find((l) => l.skip);
    const last = layers[layers.length - 1];
    const channels = concat ? channelArithmetic(concat) : '—';
    const params = count(layers.reduce((s, l) => s + l.params, 0));
    rows.push(`| ${level} | ${conv.name} | ${kerasShape(last.outputShape)} | ${channels} | ${params} |`);
  }
  return [
    '**Decoder** (level 1 is the deepest)',
    rows.join('\n'),
    sums(g.layers.filter((l) => l.part === 'decoder')),
  ].join('\n\n');
}

function skipsSection(analysis: Analysis, g: ModelGraph): string {
  const rows: string[] = ['| Level | Skip | Channels | Flipping it |', '|---:|---|---|---|'];
  for (const entry of analysis.config.generator.decoder) {
    const concat = g.layers.find((l) => l.part === 'decoder' && l.level === entry.level && l.skip);
    const e = skipEffect(analysis.config, entry.level, g)!;
    const skip = concat ? `from ${concat.skip!.from}` : 'off';
    const channels = concat ? channelArithmetic(concat) : '—';
    const flipping =
      `${signedCount(e.paramsFlipped - e.paramsNow)} params, ` +
      `${e.nextConv.name} reads ${e.nextConv.inputChannelsFlipped} ch`;
    rows.push(`| ${entry.level} | ${skip} | ${channels} | ${flipping} |`);
  }
  return ['**Skip connections**', rows.join('\n')].join('\n\n');
}

function dropoutSection(g: ModelGraph): string {
  const drops = g.layers.filter((l) => l.className === 'Dropout');
  if (!drops.length) return '**Dropout**: none in this generator.';
  const rows = drops.map(
    (l) => `| ${l.level} | ${l.name} | ${l.op.op === 'dropout' ? l.op.rate : ''} | ${kerasShape(l.outputShape)} |`,
  );
  return [
    '**Dropout layers**',
    ['| Level | Layer | Rate | Output Shape |', '|---:|---|---:|---|', ...rows].join('\n'),
  ].join('\n\n');
}

/** The variants under the cursor with their difference to the base: what the ablation varies, before it trains. */
function sweepSection(analysis: Analysis, path: Path): string {
  const sweep = analysis.sweep;
  const g = analysis.generator;
  const d = analysis.discriminator;
  if (!sweep || !g || !d) {
    const errors = analysis.diagnostics.filter((x) => x.severity === 'error').length;
    return `_No variants while the base config has ${errorCount(errors)}._`;
  }
  const variants = modelVariants(variantsAt(sweep, path));
  if (!variants.length) return '_No valid variant here (see the problems on this line)._';
  const rows = variants.map((v) => {
    const { skips, dropout } = describeVariant(v.config);
    const dp = v.generator.totals.params - g.totals.params;
    const dm = v.generator.totals.macs - g.totals.macs;
    const dd = v.discriminator.totals.params - d.totals.params;
    // Each of the generator's columns is followed by its difference to the base.
    const params = `${count(v.generator.totals.params)} | ${dp ? signedCount(dp) : '='}`;
    const macs = `${si(v.generator.totals.macs)} | ${dm ? (dm > 0 ? '+' : '−') + si(Math.abs(dm)) : '='}`;
    return `| ${v.name} | ${skips} | ${dropout} | ${params} | ${macs} | ${dd ? signedCount(dd) : '='} |`;
  });
  const head =
    path.length <= 1
      ? `**Ablation \`${sweep.name}\`** · ${runsLabel(sweep)}` +
        `${sweep.seeds.length ? ` (seeds ${sweep.seeds.join(', ')})` : ''}` +
        `${sweep.steps ? ` · ${count(sweep.steps)} steps each` : ''}`
      : `**${variants.length === 1 ? `Variant \`${variants[0].name}\`` : `${variants.length} variants`}** against the base`;
  return [
    head,
    [
      '| Variant | Skips | Dropout | G params | Δ | G MACs | Δ | D Δ |',
      '|---|---|---|---:|---:|---:|---:|---:|',
      ...rows,
    ].join('\n'),
    `Base: ${count(g.totals.params)} generator params, ${si(g.totals.macs)} MACs per image; ${count(d.totals.params)} discriminator params.`,
  ].join('\n\n');
}
