// The resolved configuration: every default applied, every shorthand expanded per level.

export type OutputActivation = 'tanh' | 'sigmoid' | 'linear';
export type Upsampling = 'nearest' | 'transpose';
export type Transform = 'gray' | 'canny' | 'paired';
export type Resize = 'squash' | 'cover';
export type DiscriminatorType = 'seed' | 'patchgan';
/** The training loop: the article's script (`seed`) or the paper's code (`paper`); see README, "The seed". */
export type Loop = 'seed' | 'paper';
/** The L1 term: the sum over channels of |y - y_hat| averaged over batch, height and width (the seed's), or the per-element mean. */
export type L1Reduction = 'sum-channels' | 'mean';
/** The label of a real batch for the discriminator: `[0, 0]` (the seed's script never sets it) or `[0, 1]`. */
export type RealLabel = 'zeros' | 'one';
/** The discriminator's BatchNorm: statistics per patch position (the seed calls one patch model per patch) or over all patches. */
export type PatchNorm = 'per-patch' | 'shared';
export type Backend = 'auto' | 'tensorflow' | 'webgpu' | 'webgpu-tfjs' | 'wasm' | 'cpu';

export interface DecoderLevel {
  /** 1 = deepest (Keras `unet_upconv2D_1`). */
  level: number;
  skip: boolean;
  /** Dropout rate; 0 means no Dropout layer. */
  dropout: number;
  filters: number;
}

export interface GeneratorConfig {
  filters: number;
  maxMultiplier: number;
  kernel: number;
  levels: number;
  upsampling: Upsampling;
  dropoutRate: number;
  /** Filters of encoder levels 1..levels. */
  encoderFilters: number[];
  /** Decoder levels 1..levels-1. */
  decoder: DecoderLevel[];
}

export interface DiscriminatorConfig {
  type: DiscriminatorType;
  patch: number;
  filters: number;
  layers: number;
  patchNorm: PatchNorm;
}

export type Preset = 'seed' | 'paper';
export type EvalMode = 'training' | 'inference';

export interface TrainConfig {
  preset: Preset;
  loop: Loop;
  evalMode: EvalMode;
  data: {
    train: string;
    test: string | undefined;
    transform: Transform;
    split: number;
    /** The split's own seed; undefined: the split is drawn from `seed`'s stream, before the weights. */
    splitSeed: number | undefined;
    /** Train on one of two disjoint halves of the training set (1: its even positions, 2: its odd ones). */
    half: 1 | 2 | undefined;
    resize: Resize;
    /** Canny thresholds on the L1 Sobel magnitude, and the Gaussian sigma before it (0: no blur). */
    canny: { low: number; high: number; blur: number };
  };
  epochs: number;
  batchSize: number;
  optimizer: { lr: number; beta1: number; beta2: number };
  loss: LossConfig;
  sampleEvery: number;
  /** Dropout draws per fixed test input whose spread measures output diversity at each evaluation (0: none). */
  diversityDraws: number;
  /** Checkpoints: at most `minutes` of training unsaved, also every `steps` when set; the newest `keep` kept. */
  checkpoint: { minutes: number; steps: number | undefined; keep: number };
  seed: number;
  backend: Backend;
}

export interface ResolvedConfig {
  name: string | undefined;
  input: { size: number; channels: number };
  output: { channels: number; activation: OutputActivation };
  generator: GeneratorConfig;
  discriminator: DiscriminatorConfig;
  train: TrainConfig;
}

export interface LossConfig {
  l1: number;
  gan: number;
  l1Reduction: L1Reduction;
  realLabel: RealLabel;
}

interface PresetDefaults {
  batchSize: number;
  optimizer: { lr: number; beta1: number; beta2: number };
  loss: LossConfig;
  loop: Loop;
  evalMode: EvalMode;
  discriminator: DiscriminatorType;
  patchNorm: PatchNorm;
  resize: Resize;
}

/** What `train.preset` sets; written keys win. */
export const PRESETS: Record<Preset, PresetDefaults> = {
  seed: {
    batchSize: 5,
    optimizer: { lr: 1e-3, beta1: 0.9, beta2: 0.999 },
    loss: { l1: 10, gan: 1, l1Reduction: 'sum-channels', realLabel: 'zeros' },
    loop: 'seed',
    evalMode: 'inference',
    discriminator: 'seed',
    patchNorm: 'per-patch',
    resize: 'squash',
  },
  paper: {
    batchSize: 1,
    optimizer: { lr: 2e-4, beta1: 0.5, beta2: 0.999 },
    loss: { l1: 100, gan: 1, l1Reduction: 'mean', realLabel: 'one' },
    loop: 'paper',
    evalMode: 'training',
    discriminator: 'patchgan',
    patchNorm: 'shared',
    resize: 'cover',
  },
};

/** The seed's Keras model and training settings (see README, "The seed"). */
export const DEFAULTS = {
  input: { size: 128, channels: 1 },
  output: { channels: 3, activation: 'tanh' as OutputActivation },
  generator: {
    filters: 64,
    maxMultiplier: 8,
    kernel: 3,
    upsampling: 'nearest' as Upsampling,
    skips: 'all' as const,
    dropout: { rate: 0.5, levels: [1, 2, 3] },
  },
  discriminator: { patch: 64, filters: 64 },
  train: {
    preset: 'seed' as Preset,
    data: {
      train: 'builtin:faces',
      transform: 'canny' as Transform,
      split: 0.9,
      canny: { low: 128, high: 128, blur: 0 },
    },
    epochs: 40,
    batchSize: PRESETS.seed.batchSize,
    optimizer: PRESETS.seed.optimizer,
    loss: PRESETS.seed.loss,
    sampleEvery: 0.5,
    diversityDraws: 8,
    checkpoint: { minutes: 10, steps: undefined as number | undefined, keep: 3 },
    seed: 0,
    backend: 'auto' as Backend,
  },
};

/** The defaults of `ablation:` (its `slurm:` section's are core/slurm.ts's SLURM_DEFAULTS). */
export const ABLATION_DEFAULTS = {
  parallel: 'auto' as const,
  executor: 'local' as 'local' | 'slurm',
  select: 'last' as 'last' | 'best',
  base: true,
  disjointHalves: false,
  probeSkips: false,
};

/** The discriminator's patch by default: min(64, the image size). */
export const defaultPatch = (size: number) => Math.min(DEFAULTS.discriminator.patch, size);

/** The discriminator's stride-2 convolutions by default, and the most a patch allows: log2(patch). */
export const defaultDiscriminatorLayers = (patch: number) => Math.max(1, Math.floor(Math.log2(patch)));

/** Encoder levels by default: floor(log2(size)), as the seed's Keras code and the paper's unet_128 / unet_256. */
export function defaultLevels(size: number): number {
  return Math.min(16, Math.max(2, Math.floor(Math.log2(Math.max(1, size)))));
}

/** A default that follows other keys, with where it came from (hovers and completion say it). */
export interface DerivedDefault {
  value: unknown;
  /** "floor(log2(input.size)) with input.size 128" */
  from: string;
}

/** The keys a preset sets (`train.preset`), by path, each to the preset's value. */
const PRESET_KEYS: Record<string, (p: (typeof PRESETS)[Preset]) => unknown> = {
  'discriminator.type': (p) => p.discriminator,
  'discriminator.patchNorm': (p) => p.patchNorm,
  'train.loop': (p) => p.loop,
  'train.evalMode': (p) => p.evalMode,
  'train.data.resize': (p) => p.resize,
  'train.batchSize': (p) => p.batchSize,
  'train.optimizer.lr': (p) => p.optimizer.lr,
  'train.optimizer.beta1': (p) => p.optimizer.beta1,
  'train.optimizer.beta2': (p) => p.optimizer.beta2,
  'train.loss.l1': (p) => p.loss.l1,
  'train.loss.gan': (p) => p.loss.gan,
  'train.loss.l1Reduction': (p) => p.loss.l1Reduction,
  'train.loss.realLabel': (p) => p.loss.realLabel,
};

/** The defaults that follow other keys, by path: the rule the resolver applies, and what hovers and completion say. */
const DERIVED_DEFAULTS: Record<string, (c: ResolvedConfig) => DerivedDefault> = {
  'generator.levels': (c) => ({
    value: defaultLevels(c.input.size),
    from: `floor(log2(\`input.size\`)) with \`input.size\` ${c.input.size}`,
  }),
  'discriminator.patch': (c) => ({
    value: defaultPatch(c.input.size),
    from: `min(64, \`input.size\`) with \`input.size\` ${c.input.size}`,
  }),
  'discriminator.layers': (c) => ({
    value: defaultDiscriminatorLayers(c.discriminator.patch),
    from: `log2(\`discriminator.patch\`) with \`patch\` ${c.discriminator.patch}`,
  }),
  ...Object.fromEntries(
    Object.entries(PRESET_KEYS).map(([path, of]) => [
      path,
      (c: ResolvedConfig) => ({ value: of(PRESETS[c.train.preset]), from: `\`train.preset: ${c.train.preset}\`` }),
    ]),
  ),
};

/** Every path whose default follows other keys (test/unit/defaults.test.ts checks each against the resolver). */
export const DERIVED_PATHS = Object.keys(DERIVED_DEFAULTS);

export function derivedDefault(path: string, c: ResolvedConfig): DerivedDefault | undefined {
  return DERIVED_DEFAULTS[path]?.(c);
}

/** Encoder level i (1-based) has `filters * min(maxMultiplier, 2^(i-1))` filters. */
export function encoderFilters(filters: number, maxMultiplier: number, levels: number): number[] {
  return Array.from({ length: levels }, (_, i) => filters * Math.min(maxMultiplier, 2 ** i));
}

/**
 * Default decoder filters as in the seed: the encoder filters of levels 1..levels-2 reversed, then `filters`
 * (64, 128, 256, 512, 512, 512, 512 gives 512, 512, 256, 128, 64, 64).
 */
export function defaultDecoderFilters(encoder: readonly number[], filters: number): number[] {
  return [...encoder.slice(0, Math.max(0, encoder.length - 2)).reverse(), filters];
}
