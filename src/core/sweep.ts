// An ablation sweep: the `ablation:` section of a config expanded into variants, each the base config with some
// keys overridden, resolved and graphed like any config. Invalid variants are reported at the entry that made
// them; variants that train the same model as another are reported and left out.

import { parse, stringify } from 'yaml';
import { ABLATION_DEFAULTS, type ResolvedConfig } from './config';
import { numberOr, stringOr } from './values';
import type { ModelPlan } from './modelPlan';
import { formatPath, type Diagnostic, type Path } from './diagnostics';
import type { ParsedConfig } from './document';
import { discriminatorGraph, generatorGraph, type ModelGraph } from './graph';
import { resolveConfig } from './resolve';
import { MAX_VARIANTS, VARIANT_KEYS } from './schema';
import { SLURM_DEFAULTS, slurmTimeSeconds, type SlurmSettings } from './slurm';

type Obj = Record<string, unknown>;

export type VariantOrigin = 'base' | 'progressiveSkips' | 'dropoutLevels' | 'grid' | 'variants';

export interface SweepVariant {
  name: string;
  origin: VariantOrigin;
  /** Where the variant is written (its list entry, or the generating key). */
  source: Path;
  /** The keys it changes, as a partial config. */
  overrides: Obj;
  config: ResolvedConfig;
  generator: ModelGraph;
  discriminator: ModelGraph;
  /** Its config file, as the trainer reads it. */
  text: string;
  /** A replicate (`ablation.seeds`): the variant it repeats and its `train.seed`. */
  replicate?: { of: string; seed: number };
  /** A run on one half of the training set (`ablation.disjointHalves`): the variant it halves and which half. */
  half?: { of: string; half: 1 | 2 };
}

export interface Sweep {
  name: string;
  steps?: number;
  parallel: 'auto' | number;
  /** Where the variants train: a queue on this machine, or a SLURM job array. */
  executor: 'local' | 'slurm';
  slurm: SlurmSettings;
  /** The runs it trains: each variant, or with `seeds` each variant once per seed (its replicates, in order). */
  variants: SweepVariant[];
  /** The replicates' seeds (`ablation.seeds`); empty when each variant trains once, from its own `train.seed`. */
  seeds: number[];
  /** Which evaluation of each run the tables show: its last, or its lowest test L1. */
  select: 'last' | 'best';
  /** Probe each completed variant's skips at the end (`ablation.probeSkips`). */
  probeSkips: boolean;
}

export interface Base extends ModelPlan {
  /** The config's name (its `name`, else the file name); names the sweep folder by default. */
  name: string;
}

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Mappings merge key by key; lists and values replace. */
function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

/** `all`, `none`, `1-2-3` */
function levelsLabel(levels: readonly number[], of: number): string {
  if (levels.length === 0) return 'none';
  if (levels.length === of && of > 0) return 'all';
  return [...levels].sort((a, b) => a - b).join('-');
}

function specLabel(spec: unknown): string {
  if (Array.isArray(spec)) return spec.length ? [...spec].sort((a, b) => Number(a) - Number(b)).join('-') : 'none';
  return String(spec);
}

function valueLabel(v: unknown): string {
  if (Array.isArray(v)) return v.length ? v.join('-') : 'none';
  return String(v);
}

/** A folder-safe variant name. */
export function safeName(name: string): string {
  return (
    name
      .replace(/[^\w.-]+/g, '_')
      .replace(/^\.+/, '_')
      .slice(0, 80) || '_'
  );
}

function setPath(target: Obj, dotted: string, value: unknown): Obj {
  const keys = dotted.split('.');
  const root: Obj = {};
  let cur = root;
  keys.forEach((k, i) => {
    if (i === keys.length - 1) cur[k] = value;
    else cur = cur[k] = {};
  });
  return deepMerge(target, root);
}

/** The variant's config file: the base with the overrides merged, without `ablation`. */
function variantText(value: Obj, name: string, baseName: string, overrides: Obj): string {
  const header = `# Variant \`${name}\` of the ablation of ${baseName}: the base config with ${JSON.stringify(overrides)}\n`;
  return header + stringify({ ...value, name }, { lineWidth: 0 });
}

/** A variant before it is resolved: its name, where it came from, and what it changes in the base. */
interface Candidate {
  name: string;
  origin: VariantOrigin;
  source: Path;
  overrides: Obj;
}

/** Expands `ablation:`; undefined when the config has none. `base` is the analysed base (no errors). */
export function expandSweep(parsed: ParsedConfig, base: Base): { sweep: Sweep; diagnostics: Diagnostic[] } | undefined {
  const ab = parsed.value.ablation;
  if (!isObj(ab)) return undefined;
  const diagnostics: Diagnostic[] = [];
  const decoderCount = base.config.generator.decoder.length;
  const candidates = [
    ...skipCandidates(ab.progressiveSkips, decoderCount),
    ...dropoutCandidates(ab.dropoutLevels),
    ...gridCandidates(ab.grid, parsed, diagnostics),
    ...namedCandidates(ab.variants),
  ];
  const models = new SweepBuilder(parsed, base, diagnostics).build(
    candidates,
    typeof ab.base === 'boolean' ? ab.base : ABLATION_DEFAULTS.base,
  );
  const seeds = replicateSeeds(ab.seeds, base.config.train.seed);
  const runs = seeds.length ? models.flatMap((v) => replicates(v, seeds, base)) : models;
  const halved = typeof ab.disjointHalves === 'boolean' ? ab.disjointHalves : ABLATION_DEFAULTS.disjointHalves;
  const variants = halved ? [...runs, ...models.flatMap((v) => halves(v, base))] : runs;
  if (models.length === 0) {
    diagnostics.push({
      severity: 'warning',
      code: 'empty-sweep',
      message: '`ablation`: no variants; add `progressiveSkips`, `dropoutLevels`, `grid` or `variants`',
      range: parsed.rangeOf(['ablation'], 'key'),
    });
  }
  const name = typeof ab.name === 'string' && ab.name.trim() ? ab.name.trim() : `${base.name}-ablation`;
  const steps = typeof ab.steps === 'number' ? ab.steps : undefined;
  const parallel = typeof ab.parallel === 'number' ? ab.parallel : ABLATION_DEFAULTS.parallel;
  const executor = ab.executor === 'slurm' || ab.executor === 'local' ? ab.executor : ABLATION_DEFAULTS.executor;
  const slurm = slurmSettings(ab, parsed, diagnostics);
  const select = ab.select === 'best' || ab.select === 'last' ? ab.select : ABLATION_DEFAULTS.select;
  const probeSkips = typeof ab.probeSkips === 'boolean' ? ab.probeSkips : ABLATION_DEFAULTS.probeSkips;
  return { sweep: { name, steps, parallel, executor, slurm, variants, seeds, select, probeSkips }, diagnostics };
}

/** `ablation.seeds`: N seeds from the base's `train.seed` on, or a list; none (one run per variant) below 2. */
function replicateSeeds(given: unknown, baseSeed: number): number[] {
  const seeds =
    typeof given === 'number'
      ? Array.from({ length: given }, (_, i) => baseSeed + i)
      : Array.isArray(given)
        ? [...new Set(given.filter((s): s is number => typeof s === 'number'))]
        : [];
  return seeds.length > 1 ? seeds : [];
}

/**
 * A variant's replicates: one run per seed, `<variant>-seed<s>`, with `train.seed` s and the base's split
 * (`train.data.splitSeed`), so that only weights, dropout masks and batch order change between them.
 */
function replicates(variant: SweepVariant, seeds: number[], base: Base): SweepVariant[] {
  const splitSeed = base.config.train.data.splitSeed ?? base.config.train.seed;
  return seeds.map((seed) => {
    const name = `${variant.name}-seed${seed}`;
    const change = { train: { seed, data: { splitSeed } } };
    const overrides = deepMerge(variant.overrides, change);
    const { train } = variant.config;
    const config = { ...variant.config, name, train: { ...train, seed, data: { ...train.data, splitSeed } } };
    const value = deepMerge(parse(variant.text) as Obj, change);
    const text = variantText(value, name, base.name, overrides);
    return { ...variant, name, overrides, config, text, replicate: { of: variant.name, seed } };
  });
}

/**
 * A variant's runs on the two disjoint halves of the training set (`train.data.half`), `<variant>-half1` and
 * `-half2`, at the base's seed and split: only the training images differ between them.
 */
function halves(variant: SweepVariant, base: Base): SweepVariant[] {
  const splitSeed = base.config.train.data.splitSeed ?? base.config.train.seed;
  return ([1, 2] as const).map((half) => {
    const name = `${variant.name}-half${half}`;
    const change = { train: { data: { half, splitSeed } } };
    const overrides = deepMerge(variant.overrides, change);
    const { train } = variant.config;
    const config = { ...variant.config, name, train: { ...train, data: { ...train.data, half, splitSeed } } };
    const text = variantText(deepMerge(parse(variant.text) as Obj, change), name, base.name, overrides);
    return { ...variant, name, overrides, config, text, half: { of: variant.name, half } };
  });
}

/** `ablation.slurm` with its defaults; a time limit SLURM would refuse, or one shorter than the signal, is an error. */
function slurmSettings(ab: Obj, parsed: ParsedConfig, diagnostics: Diagnostic[]): SlurmSettings {
  const given = isObj(ab.slurm) ? ab.slurm : {};
  const settings: SlurmSettings = {
    partition: stringOr(given.partition),
    gres: stringOr(given.gres, SLURM_DEFAULTS.gres),
    time: stringOr(given.time),
    parallel: numberOr(given.parallel) ?? numberOr(ab.parallel),
    signal: numberOr(given.signal, SLURM_DEFAULTS.signal),
    requeues: numberOr(given.requeues, SLURM_DEFAULTS.requeues),
    sbatch: Array.isArray(given.sbatch) ? given.sbatch.filter((l): l is string => typeof l === 'string') : [],
  };
  if (settings.time === undefined) return settings;
  const limit = slurmTimeSeconds(settings.time);
  const error = (path: Path, code: string, message: string) =>
    diagnostics.push({ severity: 'error', code, message, range: parsed.rangeOf(path) });
  if (limit === undefined)
    error(
      ['ablation', 'slurm', 'time'],
      'slurm-time',
      `\`${settings.time}\` is not a SLURM time limit: \`minutes\`, \`hours:minutes:seconds\` or \`days-hours\` (e.g. \`4:00:00\`, \`1-12\`)`,
    );
  else if (settings.signal >= limit)
    error(
      given.signal === undefined ? ['ablation', 'slurm', 'time'] : ['ablation', 'slurm', 'signal'],
      'slurm-signal',
      `the checkpoint signal (${settings.signal} s before the limit) must come before the time limit ${settings.time} ` +
        `(${limit} s): lower \`signal\` or raise \`time\``,
    );
  return settings;
}

/** All skips, then one level fewer at a time down to none. Level 1 is the deepest decoder level. */
function skipCandidates(order: unknown, decoderCount: number): Candidate[] {
  if (order !== 'shallowFirst' && order !== 'deepFirst') return [];
  return Array.from({ length: decoderCount + 1 }, (_, dropped) => {
    const first = order === 'shallowFirst' ? 1 : 1 + dropped;
    const kept = Array.from({ length: decoderCount - dropped }, (_, i) => i + first);
    const skips = kept.length === decoderCount ? 'all' : kept.length === 0 ? 'none' : kept;
    return {
      name: `skips-${levelsLabel(kept, decoderCount)}`,
      origin: 'progressiveSkips' as const,
      source: ['ablation', 'progressiveSkips'],
      overrides: { generator: { skips } },
    };
  });
}

function dropoutCandidates(levels: unknown): Candidate[] {
  if (!Array.isArray(levels)) return [];
  return levels.flatMap((spec, i) =>
    spec === undefined
      ? []
      : [
          {
            name: `dropout-${specLabel(spec)}`,
            origin: 'dropoutLevels' as const,
            source: ['ablation', 'dropoutLevels', i],
            overrides: { generator: { dropout: { levels: spec } } },
          },
        ],
  );
}

/** Every combination of the grid's values, named by its values (`upsampling-nearest_filters-32`). */
function gridCandidates(grid: unknown, parsed: ParsedConfig, diagnostics: Diagnostic[]): Candidate[] {
  if (!isObj(grid)) return [];
  const axes = Object.entries(grid).filter((e): e is [string, unknown[]] => Array.isArray(e[1]) && e[1].length > 0);
  const total = axes.reduce((n, [, vs]) => n * vs.length, 1);
  if (total > MAX_VARIANTS) {
    diagnostics.push({
      severity: 'error',
      code: 'too-many-variants',
      message: `\`ablation.grid\`: ${total.toLocaleString('en-US')} combinations; a sweep holds at most ${MAX_VARIANTS} variants`,
      range: parsed.rangeOf(['ablation', 'grid'], 'key'),
    });
    return [];
  }
  if (!axes.length) return [];
  let combos: { name: string[]; overrides: Obj }[] = [{ name: [], overrides: {} }];
  for (const [key, values] of axes) {
    const short = key.split('.').pop()!;
    combos = combos.flatMap((c) =>
      values
        .filter((v) => v !== undefined)
        .map((v) => ({ name: [...c.name, `${short}-${valueLabel(v)}`], overrides: setPath(c.overrides, key, v) })),
    );
  }
  return combos.map((c) => ({
    name: c.name.join('_'),
    origin: 'grid' as const,
    source: ['ablation', 'grid'],
    overrides: c.overrides,
  }));
}

function namedCandidates(variants: unknown): Candidate[] {
  if (!Array.isArray(variants)) return [];
  return variants.flatMap((raw, i) => {
    if (!isObj(raw)) return [];
    const overrides: Obj = {};
    for (const k of VARIANT_KEYS) if (raw[k] !== undefined) overrides[k] = raw[k];
    const name = typeof raw.name === 'string' && raw.name.trim() ? raw.name.trim() : `variant-${i + 1}`;
    return [{ name, origin: 'variants' as const, source: ['ablation', 'variants', i], overrides }];
  });
}

/**
 * Resolves candidates into variants: each once, its diagnostics at the entry that made it; a variant that trains
 * what another (or the base) trains is left out with a warning; two variants with one folder name are an error.
 */
class SweepBuilder {
  private readonly baseValue: Obj;
  private readonly baseKey: string;
  private readonly variants: SweepVariant[] = [];
  private readonly byKey = new Map<string, SweepVariant>();
  private readonly byFolder = new Map<string, SweepVariant>();

  constructor(
    private readonly parsed: ParsedConfig,
    private readonly base: Base,
    private readonly diagnostics: Diagnostic[],
  ) {
    this.baseValue = { ...parsed.value };
    delete this.baseValue.ablation;
    delete this.baseValue.name;
    this.baseKey = configKey(base.config);
  }

  build(candidates: Candidate[], wantBase: boolean): SweepVariant[] {
    const resolved = candidates.map((c) => this.resolve(c));
    const baseTaken = resolved.some((c) => c.origin !== 'variants' && c.valid && c.key === this.baseKey);
    if (wantBase && !baseTaken) this.addBase();
    for (const c of resolved) this.add(c);
    return this.variants;
  }

  private resolve(c: Candidate) {
    const value = deepMerge(this.baseValue, c.overrides);
    const source = c.source;
    const range = this.parsed.rangeOf(source, source[1] === 'grid' ? 'key' : source.length === 2 ? 'pair' : 'value');
    const resolved = resolveConfig({ ...this.parsed, value, locate: () => undefined, rangeOf: () => range });
    const valid = !resolved.diagnostics.some((d) => d.severity === 'error');
    return { ...c, value, range, resolved, valid, key: configKey(resolved.config) };
  }

  private addBase(): void {
    const { base } = this;
    this.keep(
      {
        name: 'base',
        origin: 'base',
        source: ['ablation'],
        overrides: {},
        config: base.config,
        generator: base.generator,
        discriminator: base.discriminator,
        text: variantText(this.baseValue, 'base', base.name, {}),
      },
      this.baseKey,
    );
  }

  private add(c: ReturnType<SweepBuilder['resolve']>): void {
    const { range, resolved, key } = c;
    const label = `variant \`${c.name}\``;
    for (const d of resolved.diagnostics) {
      if (d.code === 'override' && c.origin !== 'variants') continue; // a generated variant overriding the base's own decoder entries is expected
      this.diagnostics.push({ ...d, code: `variant-${d.code}`, message: `${label}: ${d.message}`, range });
    }
    if (!c.valid) return;
    const same = this.byKey.get(key);
    if (same || (key === this.baseKey && c.origin === 'variants')) {
      const other = same ? `\`${same.name}\`` : 'the base config';
      const message = `${label} trains the same model with the same settings as ${other}; it is left out of the sweep`;
      this.diagnostics.push({ severity: 'warning', code: 'duplicate-variant', message, range });
      return;
    }
    const clash = this.byFolder.get(safeName(c.name));
    if (clash) {
      this.diagnostics.push({
        severity: 'error',
        code: 'duplicate-variant-name',
        message:
          `${label}: the name is already used by \`${clash.name}\` (from ${formatPath(clash.source)}); ` +
          'variant names name run folders, so give it another',
        range: c.origin === 'variants' ? this.parsed.rangeOf([...c.source, 'name'], 'value') : range,
      });
      return;
    }
    const config = resolved.config;
    const { name, origin, source, overrides } = c;
    const text = variantText(c.value, name, this.base.name, overrides);
    const graphs = { generator: generatorGraph(config), discriminator: discriminatorGraph(config) };
    this.keep({ name, origin, source, overrides, config, ...graphs, text }, key);
  }

  private keep(variant: SweepVariant, key: string): void {
    this.variants.push(variant);
    this.byKey.set(key, variant);
    this.byFolder.set(safeName(variant.name), variant);
  }
}

/** Two variants train the same thing when their resolved configs agree on everything but the name. */
function configKey(config: ResolvedConfig): string {
  return JSON.stringify({ ...config, name: undefined });
}

/** How a variant's generator differs where ablations look: its skips and dropout, as labels. */
export function describeVariant(config: ResolvedConfig): { skips: string; dropout: string } {
  const dec = config.generator.decoder;
  const skips = levelsLabel(
    dec.filter((d) => d.skip).map((d) => d.level),
    dec.length,
  );
  const dropped = dec.filter((d) => d.dropout > 0);
  const rates = [...new Set(dropped.map((d) => d.dropout))];
  const dropout =
    levelsLabel(
      dropped.map((d) => d.level),
      dec.length,
    ) + (dropped.length && rates.length === 1 ? ` @${rates[0]}` : '');
  return { skips, dropout };
}

/** The variants written at (or under) a path of the `ablation:` section. */
export function variantsAt(sweep: Sweep, path: Path): SweepVariant[] {
  if (path.length <= 1) return sweep.variants;
  const key = path[1];
  if (key === 'variants' && typeof path[2] === 'number')
    return sweep.variants.filter((v) => v.origin === 'variants' && v.source[2] === path[2]);
  if (key === 'dropoutLevels' && typeof path[2] === 'number')
    return sweep.variants.filter((v) => v.origin === 'dropoutLevels' && v.source[2] === path[2]);
  if (key === 'progressiveSkips' || key === 'dropoutLevels' || key === 'grid' || key === 'variants')
    return sweep.variants.filter((v) => v.origin === key);
  return sweep.variants;
}

/** The model variants among runs: each variant once (its first replicate stands for it), under its own name. */
export function modelVariants(runs: readonly SweepVariant[]): SweepVariant[] {
  const seen = new Set<string>();
  return runs.flatMap((v) => {
    if (v.half) return [];
    const name = v.replicate?.of ?? v.name;
    if (seen.has(name)) return [];
    seen.add(name);
    return [{ ...v, name }];
  });
}

/** "5 variants", or with replicates "5 variants x 3 seeds = 15 runs"; "+ 10 on disjoint halves" after either. */
export function runsLabel(sweep: Sweep): string {
  const n = modelVariants(sweep.variants).length;
  const variants = `${n} variant${n === 1 ? '' : 's'}`;
  const halves = sweep.variants.filter((v) => v.half).length;
  const label = sweep.seeds.length
    ? `${variants} × ${sweep.seeds.length} seeds = ${sweep.variants.length - halves} runs`
    : variants;
  return halves ? `${label} + ${halves} on disjoint halves` : label;
}
