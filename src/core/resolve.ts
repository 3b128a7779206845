// Apply defaults, expand shorthands per level and check what the schema alone cannot.

import {
  DEFAULTS,
  PRESETS,
  defaultDecoderFilters,
  defaultDiscriminatorLayers,
  defaultLevels,
  defaultPatch,
  encoderFilters,
  type DecoderLevel,
  type DiscriminatorConfig,
  type Preset,
  type GeneratorConfig,
  type ResolvedConfig,
  type TrainConfig,
} from './config';
import { pathKey, replaceWith, type Diagnostic, type Fix, type Path, type Severity } from './diagnostics';
import type { ParsedConfig } from './document';
import { numberOr, stringOr } from './values';

type Obj = Record<string, unknown>;

const obj = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

export interface Resolution {
  config: ResolvedConfig;
  diagnostics: Diagnostic[];
}

export function resolveConfig(parsed: ParsedConfig): Resolution {
  const diagnostics: Diagnostic[] = [];
  // `at` may list paths by preference: the first one written in the document carries the diagnostic. Fixes
  // correct the first path's value, so they come only when the diagnostic sits there.
  const report: Report = (severity, code, message, at, part = 'value', fixes = []) => {
    const paths = (Array.isArray(at[0]) ? at : [at]) as Path[];
    const path = paths.find((p) => parsed.locate(p)) ?? paths[0];
    const fixable = fixes.length && parsed.locate(paths[0]) && pathKey(path) === pathKey(paths[0]);
    diagnostics.push({ severity, code, message, range: parsed.rangeOf(path, part), ...(fixable ? { fixes } : {}) });
  };

  const root = parsed.value;
  const input = obj(root.input);
  const output = obj(root.output);
  const size = numberOr(input.size, DEFAULTS.input.size);
  const sizeOk = isPowerOfTwo(size);
  if (!sizeOk) {
    const lower = 2 ** Math.floor(Math.log2(size));
    const [near, far] = size - lower <= lower * 2 - size ? [lower, lower * 2] : [lower * 2, lower];
    report(
      'error',
      'size-power-of-two',
      `\`input.size\`: expected a power of two (every encoder level halves the image), found ${size}; the nearest are ${lower} and ${lower * 2}`,
      ['input', 'size'],
      'value',
      [replaceWith(near, 'nearest power of two'), replaceWith(far, undefined, false)],
    );
  }

  const generator = resolveGenerator(obj(root.generator), size, sizeOk, report);
  const train = resolveTrain(obj(root.train), report);
  const discriminator = resolveDiscriminator(obj(root.discriminator), size, sizeOk, PRESETS[train.preset], report);

  if (sizeOk && generator.levels >= 1 && size / 2 ** generator.levels === 1 && train.batchSize === 1) {
    report(
      'warning',
      'bottleneck-batchnorm',
      `\`generator.levels\`: the bottleneck is 1x1 and \`train.batchSize\` is 1, so its BatchNormalization ` +
        'normalises a single value per channel and outputs zeros in training; use fewer levels or a larger batch',
      [
        ['generator', 'levels'],
        ['train', 'batchSize'],
      ],
    );
  }

  const config: ResolvedConfig = {
    name: typeof root.name === 'string' ? root.name : undefined,
    input: { size, channels: numberOr(input.channels, DEFAULTS.input.channels) },
    output: {
      channels: numberOr(output.channels, DEFAULTS.output.channels),
      activation: stringOr(output.activation, DEFAULTS.output.activation),
    },
    generator,
    discriminator,
    train,
  };
  return { config, diagnostics };
}

type Report = (
  severity: Severity,
  code: string,
  message: string,
  at: Path | Path[],
  part?: 'key' | 'value' | 'pair',
  fixes?: Fix[],
) => void;

/** The fix of a level that does not exist: the last one there is. */
const lastLevel = (max: number) => [replaceWith(max, 'the last decoder level')];

/** Levels named by `all`, `none` or a list; list entries outside 1..max are reported at the entry. */
function levelSet(
  v: unknown,
  max: number,
  path: Path,
  fallback: 'all' | 'none' | number[],
  report: Report,
): Set<number> {
  const spec = v === undefined ? fallback : v;
  if (spec === 'all') return new Set(Array.from({ length: max }, (_, i) => i + 1));
  if (spec === 'none') return new Set();
  const out = new Set<number>();
  const list = Array.isArray(spec) ? spec : [];
  list.forEach((level, i) => {
    if (typeof level !== 'number') return;
    if (level > max) {
      if (v !== undefined) {
        report(
          'error',
          'level-range',
          `\`${pathText(path)}\`: level ${level} does not exist; this generator has decoder levels 1..${max}`,
          [...path, i],
          'value',
          lastLevel(max),
        );
      }
      return;
    }
    if (out.has(level))
      report('warning', 'duplicate-level', `\`${pathText(path)}\`: level ${level} is listed twice`, [...path, i]);
    out.add(level);
  });
  return out;
}

function pathText(path: Path): string {
  return path.filter((p) => typeof p === 'string').join('.');
}

function resolveGenerator(g: Obj, size: number, sizeOk: boolean, report: Report): GeneratorConfig {
  const d = DEFAULTS.generator;
  const filters = numberOr(g.filters, d.filters);
  const maxMultiplier = numberOr(g.maxMultiplier, d.maxMultiplier);
  const levels = checkedLevels(numberOr(g.levels, defaultLevels(size)), size, sizeOk, report);
  const decoderCount = levels - 1;
  const encoder = encoderFilters(filters, maxMultiplier, levels);
  const defaultsPerLevel = defaultDecoderFilters(encoder, filters);
  const skipSet = levelSet(g.skips, decoderCount, ['generator', 'skips'], d.skips, report);
  const drop = obj(g.dropout);
  const rate = numberOr(drop.rate, d.dropout.rate);
  const dropSet = levelSet(drop.levels, decoderCount, ['generator', 'dropout', 'levels'], d.dropout.levels, report);
  const decoder: DecoderLevel[] = Array.from({ length: decoderCount }, (_, i) => ({
    level: i + 1,
    skip: skipSet.has(i + 1),
    dropout: dropSet.has(i + 1) ? rate : 0,
    filters: defaultsPerLevel[i],
  }));
  applyDecoderEntries(g, decoder, rate, report);
  return {
    filters,
    maxMultiplier,
    kernel: numberOr(g.kernel, d.kernel),
    levels,
    upsampling: stringOr(g.upsampling, d.upsampling),
    dropoutRate: rate,
    encoderFilters: encoder,
    decoder,
  };
}

/** The levels, or as many as the image size allows after saying so. */
function checkedLevels(levels: number, size: number, sizeOk: boolean, report: Report): number {
  if (!sizeOk || 2 ** levels <= size) return levels;
  const most = Math.log2(size);
  report(
    'error',
    'levels-too-many',
    `\`generator.levels\`: ${levels} levels halve the image ${levels} times and need \`input.size\` of at least ` +
      `${2 ** levels}; it is ${size}, so at most ${most} levels`,
    [
      ['generator', 'levels'],
      ['input', 'size'],
    ],
    'value',
    [replaceWith(most, `the most a ${size}x${size} image allows`)],
  );
  return Math.max(2, most);
}

/** `generator.decoder` entries, each setting one level's skip, dropout or filters over the shorthands. */
function applyDecoderEntries(g: Obj, decoder: DecoderLevel[], rate: number, report: Report): void {
  const seen = new Map<number, number>();
  const entries = Array.isArray(g.decoder) ? g.decoder : [];
  entries.forEach((raw, i) => {
    if (raw === undefined) return;
    const e = obj(raw);
    const level = entryLevel(e, i, decoder.length, seen, report);
    if (level === undefined) return;
    seen.set(level, i);
    const target = decoder[level - 1];
    const at: Path = ['generator', 'decoder', i];
    if (typeof e.skip === 'boolean') {
      if (g.skips !== undefined && e.skip !== target.skip) {
        const which = target.skip ? 'keeps' : 'drops';
        const message = `\`generator.decoder[${i}].skip\`: \`skip: ${e.skip}\` on level ${level} overrides \`generator.skips\`, which ${which} this skip`;
        report('warning', 'override', message, [...at, 'skip'], 'pair');
      }
      target.skip = e.skip;
    }
    if (e.dropout !== undefined) {
      const r = e.dropout === true ? rate : e.dropout === false ? 0 : numberOr(e.dropout, 0);
      if (obj(g.dropout).levels !== undefined && r > 0 !== target.dropout > 0) {
        const which = target.dropout > 0 ? 'includes' : 'excludes';
        const message =
          `\`generator.decoder[${i}].dropout\`: dropout ${r > 0 ? r : 'off'} on level ${level} ` +
          `overrides \`generator.dropout.levels\`, which ${which} this level`;
        report('warning', 'override', message, [...at, 'dropout'], 'pair');
      }
      target.dropout = r;
    }
    if (typeof e.filters === 'number') target.filters = e.filters;
  });
}

/** A decoder entry's level, or undefined after saying why it has none that can be used. */
function entryLevel(e: Obj, i: number, decoderCount: number, seen: Map<number, number>, report: Report) {
  const at: Path = ['generator', 'decoder', i];
  if (typeof e.level !== 'number') {
    const message = `\`generator.decoder[${i}]\`: missing \`level\` (1..${decoderCount}, 1 is the deepest)`;
    report('error', 'missing-level', message, at);
    return undefined;
  }
  const level = e.level;
  if (level > decoderCount) {
    const message = `\`generator.decoder[${i}].level\`: level ${level} does not exist; this generator has decoder levels 1..${decoderCount}`;
    report('error', 'level-range', message, [...at, 'level'], 'value', lastLevel(decoderCount));
    return undefined;
  }
  if (seen.has(level)) {
    const message = `\`generator.decoder[${i}].level\`: level ${level} is already configured by \`generator.decoder[${seen.get(level)}]\``;
    report('error', 'duplicate-level', message, [...at, 'level']);
    return undefined;
  }
  return level;
}

/** `discriminator.patch`, or an error and the default where it does not tile the image. */
function tilingPatch(dsc: Obj, size: number, sizeOk: boolean, report: Report): number {
  let patch = numberOr(dsc.patch, defaultPatch(size));
  if (sizeOk && (!isPowerOfTwo(patch) || patch > size)) {
    const options = [];
    for (let p = 2; p <= size; p *= 2) options.push(p);
    const nearest = options.reduce((a, b) => (Math.abs(b - patch) < Math.abs(a - patch) ? b : a));
    report(
      'error',
      'patch-tiling',
      `\`discriminator.patch\`: ${patch} does not tile the ${size}x${size} image; use a power of two that divides ${size}: ${options.join(', ')}`,
      [
        ['discriminator', 'patch'],
        ['input', 'size'],
      ],
      'value',
      [replaceWith(nearest, 'the nearest that tiles the image')],
    );
    patch = defaultPatch(size);
  }
  return patch;
}

function resolveDiscriminator(
  dsc: Obj,
  size: number,
  sizeOk: boolean,
  preset: (typeof PRESETS)[Preset],
  report: Report,
): DiscriminatorConfig {
  const d = DEFAULTS.discriminator;
  const patch = tilingPatch(dsc, size, sizeOk, report);
  const deepest = defaultDiscriminatorLayers(patch);
  let layers = numberOr(dsc.layers, deepest);
  if (layers > deepest) {
    report(
      'error',
      'disc-layers',
      `\`discriminator.layers\`: ${layers} stride-2 convolutions need a patch of at least ${2 ** layers} pixels; \`patch\` is ${patch}, so at most ${deepest}`,
      [
        ['discriminator', 'layers'],
        ['discriminator', 'patch'],
        ['input', 'size'],
      ],
      'value',
      [replaceWith(deepest, `the most a patch of ${patch} allows`)],
    );
    layers = deepest;
  }
  const type = stringOr(dsc.type, preset.discriminator);
  if (type === 'seed' && layers < 2) {
    report(
      'error',
      'disc-layers',
      '`discriminator.layers`: the seed discriminator has a first convolution per stream and one after their ' +
        `concatenation, so at least 2 layers (a patch of at least 4); found ${layers}`,
      [
        ['discriminator', 'layers'],
        ['discriminator', 'patch'],
        ['discriminator', 'type'],
      ],
    );
    layers = 2;
  }
  return {
    type,
    patch,
    filters: numberOr(dsc.filters, d.filters),
    layers,
    patchNorm: stringOr(dsc.patchNorm, preset.patchNorm),
  };
}

function resolveTrain(t: Obj, report: Report): TrainConfig {
  const d = DEFAULTS.train;
  const data = obj(t.data);
  const edges = obj(data.canny);
  const opt = obj(t.optimizer);
  const loss = obj(t.loss);
  const preset = stringOr(t.preset, d.preset);
  const p = PRESETS[preset];
  return {
    preset,
    loop: stringOr(t.loop, p.loop),
    evalMode: stringOr(t.evalMode, p.evalMode),
    data: {
      train: stringOr(data.train, d.data.train),
      test: typeof data.test === 'string' ? data.test : undefined,
      transform: stringOr(data.transform, d.data.transform),
      split: numberOr(data.split, d.data.split),
      splitSeed: typeof data.splitSeed === 'number' ? data.splitSeed : undefined,
      half: data.half === 1 || data.half === 2 ? data.half : undefined,
      resize: stringOr(data.resize, p.resize),
      canny: resolveCanny(edges, report),
    },
    epochs: numberOr(t.epochs, d.epochs),
    batchSize: numberOr(t.batchSize, p.batchSize),
    optimizer: {
      lr: numberOr(opt.lr, p.optimizer.lr),
      beta1: numberOr(opt.beta1, p.optimizer.beta1),
      beta2: numberOr(opt.beta2, p.optimizer.beta2),
    },
    loss: {
      l1: numberOr(loss.l1, p.loss.l1),
      gan: numberOr(loss.gan, p.loss.gan),
      l1Reduction: stringOr(loss.l1Reduction, p.loss.l1Reduction),
      realLabel: stringOr(loss.realLabel, p.loss.realLabel),
    },
    sampleEvery: numberOr(t.sampleEvery, d.sampleEvery),
    diversityDraws: numberOr(t.diversityDraws, d.diversityDraws),
    checkpoint: resolveCheckpoint(obj(t.checkpoint)),
    seed: numberOr(t.seed, d.seed),
    backend: stringOr(t.backend, d.backend),
  };
}

function resolveCheckpoint(c: Obj): TrainConfig['checkpoint'] {
  const d = DEFAULTS.train.checkpoint;
  return {
    minutes: numberOr(c.minutes, d.minutes),
    steps: c.steps === undefined ? undefined : numberOr(c.steps, 1),
    keep: numberOr(c.keep, d.keep),
  };
}

function resolveCanny(edges: Obj, report: Report): TrainConfig['data']['canny'] {
  const d = DEFAULTS.train.data.canny;
  const canny = {
    low: numberOr(edges.low, d.low),
    high: numberOr(edges.high, d.high),
    blur: numberOr(edges.blur, d.blur),
  };
  if (canny.low > canny.high) {
    report(
      'error',
      'canny-thresholds',
      `\`train.data.canny.low\`: ${canny.low} is above \`high\` (${canny.high}); a weak edge is one between \`low\` and \`high\`, so \`low\` <= \`high\``,
      [
        ['train', 'data', 'canny', 'low'],
        ['train', 'data', 'canny', 'high'],
      ],
    );
  }
  return canny;
}
