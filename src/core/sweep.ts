// An ablation sweep: the `ablation:` section of a config expanded into variants, each the base config with some
// keys overridden, resolved and graphed like any config. Invalid variants are reported at the entry that made
// them; variants that train the same model as another are reported and left out.

import { stringify } from 'yaml';
import type { ResolvedConfig } from './config';
import { formatPath, type Diagnostic, type Path } from './diagnostics';
import type { ParsedConfig } from './document';
import { discriminatorGraph, generatorGraph, type ModelGraph } from './graph';
import { resolveConfig } from './resolve';
import { MAX_VARIANTS, VARIANT_KEYS } from './schema';

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
}

export interface Sweep {
  name: string;
  steps?: number;
  parallel: 'auto' | number;
  variants: SweepVariant[];
}

export interface Base {
  config: ResolvedConfig;
  generator: ModelGraph;
  discriminator: ModelGraph;
  /** The config's name (its `name`, else the file name); names the sweep folder by default. */
  name: string;
}

const isObj = (v: unknown): v is Obj => !!v && typeof v === 'object' && !Array.isArray(v);

/** Mappings merge key by key; lists and values replace. */
export function deepMerge(base: Obj, over: Obj): Obj {
  const out: Obj = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isObj(v) && isObj(out[k]) ? deepMerge(out[k] as Obj, v) : v;
  return out;
}

/** `all`, `none`, `1-2-3` */
export function levelsLabel(levels: readonly number[], of: number): string {
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
export function variantText(value: Obj, name: string, baseName: string, overrides: Obj): string {
  const header = `# Variant \`${name}\` of the ablation of ${baseName}: the base config with ${JSON.stringify(overrides)}\n`;
  return header + stringify({ ...value, name }, { lineWidth: 0 });
}

/** Expands `ablation:`; undefined when the config has none. `base` is the analysed base (no errors). */
export function expandSweep(parsed: ParsedConfig, base: Base): { sweep: Sweep; diagnostics: Diagnostic[] } | undefined {
  const ab = parsed.value.ablation;
  if (!isObj(ab)) return undefined;
  const diagnostics: Diagnostic[] = [];
  const baseValue: Obj = { ...parsed.value };
  delete baseValue.ablation;
  delete baseValue.name;
  const decoderCount = base.config.generator.decoder.length;

  const candidates: { name: string; origin: VariantOrigin; source: Path; overrides: Obj }[] = [];
  if (ab.progressiveSkips === 'shallowFirst' || ab.progressiveSkips === 'deepFirst') {
    // Level 1 is the deepest decoder level, `decoderCount` the shallowest (full resolution but one).
    for (let dropped = 0; dropped <= decoderCount; dropped++) {
      const kept =
        ab.progressiveSkips === 'shallowFirst'
          ? Array.from({ length: decoderCount - dropped }, (_, i) => i + 1)
          : Array.from({ length: decoderCount - dropped }, (_, i) => i + 1 + dropped);
      const skips = kept.length === decoderCount ? 'all' : kept.length === 0 ? 'none' : kept;
      candidates.push({
        name: `skips-${levelsLabel(kept, decoderCount)}`,
        origin: 'progressiveSkips',
        source: ['ablation', 'progressiveSkips'],
        overrides: { generator: { skips } },
      });
    }
  }
  if (Array.isArray(ab.dropoutLevels)) {
    ab.dropoutLevels.forEach((spec, i) => {
      if (spec === undefined) return;
      candidates.push({
        name: `dropout-${specLabel(spec)}`,
        origin: 'dropoutLevels',
        source: ['ablation', 'dropoutLevels', i],
        overrides: { generator: { dropout: { levels: spec } } },
      });
    });
  }
  if (isObj(ab.grid)) {
    const axes = Object.entries(ab.grid).filter(
      (e): e is [string, unknown[]] => Array.isArray(e[1]) && e[1].length > 0,
    );
    const total = axes.reduce((n, [, vs]) => n * vs.length, 1);
    if (total > MAX_VARIANTS) {
      diagnostics.push({
        severity: 'error',
        code: 'too-many-variants',
        message: `\`ablation.grid\`: ${total.toLocaleString('en-US')} combinations; a sweep holds at most ${MAX_VARIANTS} variants`,
        range: parsed.rangeOf(['ablation', 'grid'], 'key'),
      });
    } else if (axes.length) {
      let combos: { name: string[]; overrides: Obj }[] = [{ name: [], overrides: {} }];
      for (const [key, values] of axes) {
        const short = key.split('.').pop()!;
        combos = combos.flatMap((c) =>
          values
            .filter((v) => v !== undefined)
            .map((v) => ({ name: [...c.name, `${short}-${valueLabel(v)}`], overrides: setPath(c.overrides, key, v) })),
        );
      }
      for (const c of combos)
        candidates.push({
          name: c.name.join('_'),
          origin: 'grid',
          source: ['ablation', 'grid'],
          overrides: c.overrides,
        });
    }
  }
  if (Array.isArray(ab.variants)) {
    ab.variants.forEach((raw, i) => {
      if (!isObj(raw)) return;
      const overrides: Obj = {};
      for (const k of VARIANT_KEYS) if (raw[k] !== undefined) overrides[k] = raw[k];
      candidates.push({
        name: typeof raw.name === 'string' && raw.name.trim() ? raw.name.trim() : `variant-${i + 1}`,
        origin: 'variants',
        source: ['ablation', 'variants', i],
        overrides,
      });
    });
  }

  const baseKey = configKey(base.config);
  const wantBase = ab.base !== false;
  const variants: SweepVariant[] = [];
  const byKey = new Map<string, SweepVariant>();
  const byFolder = new Map<string, SweepVariant>();
  const at = (source: Path) =>
    parsed.rangeOf(source, source[1] === 'grid' ? 'key' : source.length === 2 ? 'pair' : 'value');
  // Each candidate resolved once: its diagnostics carry the range of the entry that made it.
  const resolvedCandidates = candidates.map((c) => {
    const value = deepMerge(baseValue, c.overrides);
    const range = at(c.source);
    const resolved = resolveConfig({ ...parsed, value, locate: () => undefined, rangeOf: () => range });
    const valid = !resolved.diagnostics.some((d) => d.severity === 'error');
    return { ...c, value, range, resolved, valid, key: configKey(resolved.config) };
  });
  const baseTaken = resolvedCandidates.some((c) => c.origin !== 'variants' && c.valid && c.key === baseKey);

  if (wantBase && !baseTaken) {
    variants.push({
      name: 'base',
      origin: 'base',
      source: ['ablation'],
      overrides: {},
      config: base.config,
      generator: base.generator,
      discriminator: base.discriminator,
      text: variantText(baseValue, 'base', base.name, {}),
    });
    byKey.set(baseKey, variants[0]);
    byFolder.set('base', variants[0]);
  }

  for (const c of resolvedCandidates) {
    const { value, range, resolved, key } = c;
    const label = `variant \`${c.name}\``;
    for (const d of resolved.diagnostics) {
      if (d.code === 'override' && c.origin !== 'variants') continue; // a generated variant overriding the base's own decoder entries is expected
      diagnostics.push({ ...d, code: `variant-${d.code}`, message: `${label}: ${d.message}`, range });
    }
    if (!c.valid) continue;
    const same = byKey.get(key);
    if (same || (key === baseKey && c.origin === 'variants')) {
      diagnostics.push({
        severity: 'warning',
        code: 'duplicate-variant',
        message: `${label} trains the same model with the same settings as ${same ? `\`${same.name}\`` : 'the base config'}; it is left out of the sweep`,
        range,
      });
      continue;
    }
    const folder = safeName(c.name);
    const clash = byFolder.get(folder);
    if (clash) {
      diagnostics.push({
        severity: 'error',
        code: 'duplicate-variant-name',
        message: `${label}: the name is already used by \`${clash.name}\` (from ${formatPath(clash.source)}); variant names name run folders, so give it another`,
        range: c.origin === 'variants' ? parsed.rangeOf([...c.source, 'name'], 'value') : range,
      });
      continue;
    }
    const variant: SweepVariant = {
      name: c.name,
      origin: c.origin,
      source: c.source,
      overrides: c.overrides,
      config: resolved.config,
      generator: generatorGraph(resolved.config),
      discriminator: discriminatorGraph(resolved.config),
      text: variantText(value, c.name, base.name, c.overrides),
    };
    variants.push(variant);
    byKey.set(key, variant);
    byFolder.set(folder, variant);
  }

  if (variants.length === 0) {
    diagnostics.push({
      severity: 'warning',
      code: 'empty-sweep',
      message: '`ablation`: no variants; add `progressiveSkips`, `dropoutLevels`, `grid` or `variants`',
      range: parsed.rangeOf(['ablation'], 'key'),
    });
  }
  const name = typeof ab.name === 'string' && ab.name.trim() ? ab.name.trim() : `${base.name}-ablation`;
  return {
    sweep: {
      name,
      steps: typeof ab.steps === 'number' ? ab.steps : undefined,
      parallel: typeof ab.parallel === 'number' ? ab.parallel : 'auto',
      variants,
    },
    diagnostics,
  };
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
