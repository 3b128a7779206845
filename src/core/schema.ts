// The `.p2p.yaml` DSL described once: the validator, the JSON Schema, hovers and completion all read it.

import { ABLATION_DEFAULTS, DEFAULTS } from './config';
import { SLURM_DEFAULTS } from './slurm';

export type Schema =
  ObjectSchema | NumberSchema | StringSchema | BooleanSchema | ArraySchema | UnionSchema | GridSchema;

interface Base {
  doc: string;
  /**
   * Shown in docs and the JSON Schema: always a reference to `DEFAULTS`, `ABLATION_DEFAULTS` (config.ts) or
   * `SLURM_DEFAULTS` (slurm.ts), the one home of each default value (test/unit/defaults.test.ts checks it).
   * Defaults that follow other keys (`generator.levels` from `input.size`) are `derivedDefault`'s.
   */
  default?: unknown;
}

export interface ObjectSchema extends Base {
  kind: 'object';
  properties: Record<string, Schema>;
}

export interface NumberSchema extends Base {
  kind: 'number';
  integer?: boolean;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
}

export interface StringSchema extends Base {
  kind: 'string';
  enum?: readonly string[];
  /** Per-value documentation for enumerated strings. */
  enumDocs?: Record<string, string>;
}

export interface BooleanSchema extends Base {
  kind: 'boolean';
}

export interface ArraySchema extends Base {
  kind: 'array';
  items: Schema;
  maxItems?: number;
}

export interface UnionSchema extends Base {
  kind: 'union';
  /** Tried in order; the first whose kind matches the YAML node validates it. */
  anyOf: Schema[];
  /** How the accepted forms are named in messages, e.g. "`all`, `none` or a list of levels". */
  expected: string;
}

/**
 * A mapping from dotted config paths (`generator.upsampling`) to lists of values, each value checked against the
 * schema of its path: the axes of an ablation grid.
 */
export interface GridSchema extends Base {
  kind: 'grid';
}

const levelNumber = (what: string): NumberSchema => ({
  kind: 'number',
  integer: true,
  minimum: 1,
  maximum: 64,
  doc: `A decoder level: 1 is the deepest (Keras \`unet_upconv2D_1\`), ${what}.`,
});

const MAX_SIZE = 4096;
const MAX_FILTERS = 4096;

const filtersSchema = (doc: string, dflt?: number): NumberSchema => ({
  kind: 'number',
  integer: true,
  minimum: 1,
  maximum: MAX_FILTERS,
  default: dflt,
  doc,
});

const dropoutRate: NumberSchema = {
  kind: 'number',
  minimum: 0,
  exclusiveMaximum: 1,
  doc: 'Fraction of units dropped, in [0, 1).',
};

export const configSchema: ObjectSchema = {
  kind: 'object',
  doc: 'A pix2pix model: a U-Net generator, a PatchGAN discriminator, the data and the training settings.',
  properties: {
    name: {
      kind: 'string',
      doc: 'Name of this configuration, used for run folders. Defaults to the file name.',
    },
    input: {
      kind: 'object',
      doc: 'The conditioning image the generator reads (and the discriminator sees beside the colour image).',
      properties: {
        size: {
          kind: 'number',
          integer: true,
          minimum: 2,
          maximum: MAX_SIZE,
          default: DEFAULTS.input.size,
          doc: 'Width and height in pixels. A power of two: every encoder level halves it.',
        },
        channels: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 4,
          default: DEFAULTS.input.channels,
          doc: 'Channels of the input image: 1 for grayscale or edge images, 3 for colour.',
        },
      },
    },
    output: {
      kind: 'object',
      doc: 'The image the generator produces.',
      properties: {
        channels: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 4,
          default: DEFAULTS.output.channels,
          doc: 'Channels of the generated image (3 for colour).',
        },
        activation: {
          kind: 'string',
          enum: ['tanh', 'sigmoid', 'linear'],
          enumDocs: {
            tanh: 'Outputs in [-1, 1]; images are scaled as x / 127.5 - 1 (the seed and the paper).',
            sigmoid: 'Outputs in [0, 1].',
            linear: 'No squashing.',
          },
          default: DEFAULTS.output.activation,
          doc: 'Activation of the last layer.',
        },
      },
    },
    generator: {
      kind: 'object',
      doc:
        'The U-Net generator (Keras `generator_unet_upsampling`). ' +
        'Encoder level i is Conv2D stride 2 (with LeakyReLU(0.2) before it and BatchNorm after it from level 2 on); ' +
        'decoder level k (1 = deepest) is ReLU, upsampling, Conv2D, BatchNorm, optional Dropout ' +
        'and optional concatenation with the encoder output of the same size.',
      properties: {
        filters: filtersSchema(
          'Filters of encoder level 1; level i has `filters * min(maxMultiplier, 2^(i-1))`.',
          DEFAULTS.generator.filters,
        ),
        maxMultiplier: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 1024,
          default: DEFAULTS.generator.maxMultiplier,
          doc: 'Cap on the filter multiplier of deeper levels (8 gives 64, 128, 256, 512, 512, ...).',
        },
        kernel: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 15,
          default: DEFAULTS.generator.kernel,
          doc: 'Kernel size of every convolution (odd).',
        },
        levels: {
          kind: 'number',
          integer: true,
          minimum: 2,
          maximum: 16,
          doc:
            'Encoder levels. Each halves the image, so `size / 2^levels` must be at least 1. ' +
            'The decoder has `levels - 1` levels plus the last convolution. ' +
            "Defaults to floor(log2(`input.size`)), as the seed and the paper's unet_128 / unet_256: " +
            '7 at 128, 8 at 256, 6 at 64.',
        },
        upsampling: {
          kind: 'string',
          enum: ['nearest', 'transpose'],
          enumDocs: {
            nearest: 'UpSampling2D (nearest neighbour) followed by a Conv2D, as `generator_unet_upsampling`.',
            transpose: 'A Conv2DTranspose with stride 2, as `generator_unet_deconv`.',
          },
          default: DEFAULTS.generator.upsampling,
          doc: 'How decoder levels double the resolution.',
        },
        skips: {
          kind: 'union',
          expected: '`all`, `none` or a list of decoder levels',
          default: DEFAULTS.generator.skips,
          doc: 'Which decoder levels concatenate the encoder output of the same size (the U-Net skip connections). `none` makes a plain encoder-decoder.',
          anyOf: [
            {
              kind: 'string',
              enum: ['all', 'none'],
              enumDocs: {
                all: 'Every decoder level has its skip (the U-Net).',
                none: 'No skips (an encoder-decoder).',
              },
              doc: 'All or none.',
            },
            {
              kind: 'array',
              items: levelNumber('that keeps its skip'),
              maxItems: 64,
              doc: 'The decoder levels that keep their skip.',
            },
          ],
        },
        dropout: {
          kind: 'object',
          doc: 'Dropout after the BatchNorm of some decoder levels (the seed: 0.5 on levels 1-3).',
          properties: {
            rate: { ...dropoutRate, default: DEFAULTS.generator.dropout.rate },
            levels: {
              kind: 'union',
              expected: '`all`, `none` or a list of decoder levels',
              default: DEFAULTS.generator.dropout.levels,
              doc: 'Decoder levels with dropout.',
              anyOf: [
                {
                  kind: 'string',
                  enum: ['all', 'none'],
                  enumDocs: { all: 'Dropout on every decoder level.', none: 'No dropout.' },
                  doc: 'All or none.',
                },
                {
                  kind: 'array',
                  items: levelNumber('with dropout'),
                  maxItems: 64,
                  doc: 'The decoder levels with dropout.',
                },
              ],
            },
          },
        },
        decoder: {
          kind: 'array',
          maxItems: 64,
          doc: 'Per-level overrides of the decoder; an entry wins over `skips`, `dropout` and the default filters.',
          items: {
            kind: 'object',
            doc: 'One decoder level.',
            properties: {
              level: levelNumber('the one this entry overrides'),
              skip: { kind: 'boolean', doc: 'Concatenate the encoder output of the same size (overrides `skips`).' },
              dropout: {
                kind: 'union',
                expected: 'a rate in [0, 1) or a boolean',
                doc: 'Dropout for this level: a rate, `true` for the generator rate, `false` or 0 for none (overrides `dropout.levels`).',
                anyOf: [dropoutRate, { kind: 'boolean', doc: '`true`: the generator dropout rate; `false`: none.' }],
              },
              filters: filtersSchema(
                "Filters of this level's convolution (default: as the seed, the encoder filters mirrored).",
              ),
            },
          },
        },
      },
    },
    discriminator: {
      kind: 'object',
      doc:
        'The discriminator: the image (real or generated) and its input, cut into `patch`-sized tiles; one network ' +
        'shared by all tiles classifies each real/fake (softmax over 2), and a Dense layer merges the tiles.',
      properties: {
        type: {
          kind: 'string',
          enum: ['seed', 'patchgan'],
          enumDocs: {
            seed:
              "The seed's `DCGAN_discriminator`: the image tile and the input tile through their own stride-2 " +
              'convolution (`disc_conv2d_1`, `raw_disc_conv2d_1`), concatenated, ' +
              'one more stride-2 convolution with the last filter count ' +
              "(`disc_conv2d_<layers>`: the seed's loop rebuilds it from the same two streams for every count, " +
              'so only the last is connected), then Dense(2, softmax) per tile. ' +
              'A weak critic (857,492 params for the seed).',
            patchgan:
              'The concatenated (image, input) tile through `layers` chained stride-2 Conv-BatchNorm-LeakyReLU ' +
              "layers: a strong critic (6,280,148 params at the seed's sizes).",
          },
          doc: 'Discriminator architecture. Defaults to `seed` with `train.preset: seed`, `patchgan` with `paper`.',
        },
        patch: {
          kind: 'number',
          integer: true,
          minimum: 2,
          maximum: MAX_SIZE,
          default: DEFAULTS.discriminator.patch,
          doc: 'Tile size in pixels; it must tile the image (divide `input.size`) and be a power of two. Defaults to min(64, `input.size`).',
        },
        filters: filtersSchema(
          'Filters of the first convolution; layer i has `filters * min(8, 2^(i-1))`.',
          DEFAULTS.discriminator.filters,
        ),
        layers: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 16,
          doc:
            'Stride-2 convolutions of the trunk (for `seed`: the length of its filter list, whose last entry the ' +
            'final convolution takes); at most log2(patch). Defaults to log2(patch) (6 for 64).',
        },
        patchNorm: {
          kind: 'string',
          enum: ['per-patch', 'shared'],
          enumDocs: {
            'per-patch':
              "The seed's script: one patch model called once per patch, so each BatchNormalization normalises over " +
              'the batch at that patch position alone and updates its moving statistics once per patch.',
            shared:
              'The statistics over every patch of the batch at once, as a fully convolutional PatchGAN (the paper) ' +
              'normalises over the whole image.',
          },
          doc: "The trunk's BatchNorm statistics. Defaults to `per-patch` with `train.preset: seed`, `shared` with `paper`.",
        },
      },
    },
    train: {
      kind: 'object',
      doc: 'Data and training settings. Defaults reproduce the seed (Adam 1e-3 / 0.9 / 0.999, 10 * L1 + 1 * GAN, batch 5).',
      properties: {
        preset: {
          kind: 'string',
          enum: ['seed', 'paper'],
          enumDocs: {
            seed: "The seed article's script: its loop, Adam 1e-3 / beta1 0.9, 10 * L1 (summed over channels) + 1 * GAN, batch 5.",
            paper: "The pix2pix paper's code: its loop, Adam 2e-4 / beta1 0.5, 100 * L1 + 1 * GAN, batch 1.",
          },
          default: DEFAULTS.train.preset,
          doc:
            'Defaults for `loop`, `evalMode`, `optimizer`, `loss`, `batchSize`, `discriminator.type` and ' +
            '`discriminator.patchNorm`; keys written here win over the preset.',
        },
        loop: {
          kind: 'string',
          enum: ['seed', 'paper'],
          enumDocs: {
            seed:
              "The seed's script: per batch one discriminator update first, alternating a real batch (odd batches of " +
              'an epoch) and a generated one (made in inference mode, as `generator.predict`); then a generator ' +
              'update on a fresh random batch (drawn with replacement) with the discriminator frozen.',
            paper:
              "The paper's code: the discriminator on the generated and the real pair of the batch, " +
              '0.5 * (BCE fake + BCE real), then the generator on the same batch.',
          },
          doc: 'The training loop. Defaults to `seed` with `train.preset: seed`, `paper` with `paper`.',
        },
        evalMode: {
          kind: 'string',
          enum: ['training', 'inference'],
          enumDocs: {
            training: 'Dropout and batch statistics on, as the pix2pix paper evaluates.',
            inference: "Dropout off and BatchNorm moving statistics, as Keras `predict()` (the seed's figures).",
          },
          doc:
            'How samples and metrics are generated at evaluation; evaluation never changes the model. Defaults to ' +
            '`inference` with `train.preset: seed`, `training` with `paper`.',
        },
        data: {
          kind: 'object',
          doc: 'Where training and test images come from.',
          properties: {
            train: {
              kind: 'string',
              default: DEFAULTS.train.data.train,
              doc: 'A folder of images (relative to this file), or `builtin:faces` / `builtin:garments` for the embedded synthetic sets.',
            },
            test: {
              kind: 'string',
              doc: 'A separate test folder (cross-domain: train on faces, test on fashion). Without it, `split` holds out part of `train`.',
            },
            transform: {
              kind: 'string',
              enum: ['gray', 'canny', 'paired'],
              enumDocs: {
                gray: 'The input is the grayscale of the colour target.',
                canny: 'The input is the Canny edge map of the target, black edges on white (the seed).',
                paired: 'pix2pix A|B side-by-side images, or `A/` and `B/` folders matched by file name.',
              },
              default: DEFAULTS.train.data.transform,
              doc: 'How input/target pairs are made.',
            },
            split: {
              kind: 'number',
              exclusiveMinimum: 0,
              maximum: 1,
              default: DEFAULTS.train.data.split,
              doc: 'Fraction of `train` used for training when there is no `test` folder (seeded).',
            },
            splitSeed: {
              kind: 'number',
              integer: true,
              minimum: 0,
              maximum: 2 ** 31 - 1,
              doc:
                'Seed of the `split` alone (default: `train.seed`, which then draws it with the weights); the ' +
                "replicates of an ablation keep the base's split with it.",
            },
            half: {
              kind: 'number',
              integer: true,
              minimum: 1,
              maximum: 2,
              doc:
                'Train on one of two disjoint halves of the training set (after `split`): 1 its even positions, 2 its odd ones. ' +
                '`ablation.disjointHalves` trains each variant on both.',
            },
            resize: {
              kind: 'string',
              enum: ['squash', 'cover'],
              enumDocs: {
                squash:
                  'Stretched to `size` x `size` by nearest neighbour, the aspect ratio not kept: the seed (Keras `load_img` with `target_size`).',
                cover: 'Scaled (Lanczos) to cover `size` x `size` and centre-cropped: the aspect ratio kept.',
              },
              doc: 'How each image becomes `input.size` square. Defaults to `squash` with `train.preset: seed`, `cover` with `paper`.',
            },
            canny: {
              kind: 'object',
              doc: "The edge detector of `transform: canny`, as OpenCV's `cv2.Canny`; the defaults are the seed's `Canny(gray, 128, 128)` with no blur.",
              properties: {
                low: {
                  kind: 'number',
                  minimum: 0,
                  maximum: 8160,
                  default: DEFAULTS.train.data.canny.low,
                  doc: 'A pixel whose L1 Sobel magnitude |gx| + |gy| (0..2040 for 8-bit images) is above `low` is an edge when connected to a strong one.',
                },
                high: {
                  kind: 'number',
                  minimum: 0,
                  maximum: 8160,
                  default: DEFAULTS.train.data.canny.high,
                  doc: 'A pixel whose L1 Sobel magnitude is above `high` is an edge (a strong one).',
                },
                blur: {
                  kind: 'number',
                  minimum: 0,
                  maximum: 10,
                  default: DEFAULTS.train.data.canny.blur,
                  doc: 'Gaussian sigma of a 5x5 blur before the gradients; 0 for none (the seed).',
                },
              },
            },
          },
        },
        epochs: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 1_000_000,
          default: DEFAULTS.train.epochs,
          doc: 'Passes over the training set.',
        },
        batchSize: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 4096,
          default: DEFAULTS.train.batchSize,
          doc: 'Images per step.',
        },
        optimizer: {
          kind: 'object',
          doc: 'Adam, for both networks.',
          properties: {
            lr: {
              kind: 'number',
              exclusiveMinimum: 0,
              maximum: 10,
              default: DEFAULTS.train.optimizer.lr,
              doc: 'Learning rate.',
            },
            beta1: {
              kind: 'number',
              minimum: 0,
              exclusiveMaximum: 1,
              default: DEFAULTS.train.optimizer.beta1,
              doc: 'Adam beta1.',
            },
            beta2: {
              kind: 'number',
              minimum: 0,
              exclusiveMaximum: 1,
              default: DEFAULTS.train.optimizer.beta2,
              doc: 'Adam beta2.',
            },
          },
        },
        loss: {
          kind: 'object',
          doc:
            'Generator loss = l1 * L1(generated, target) + gan * BCE(D(input, generated), real); the discriminator ' +
            'learns generated = [1, 0] and real = `realLabel`.',
          properties: {
            l1: {
              kind: 'number',
              minimum: 0,
              maximum: 1e6,
              default: DEFAULTS.train.loss.l1,
              doc: 'Weight of the L1 term (the paper: 100).',
            },
            gan: {
              kind: 'number',
              minimum: 0,
              maximum: 1e6,
              default: DEFAULTS.train.loss.gan,
              doc: 'Weight of the adversarial term.',
            },
            l1Reduction: {
              kind: 'string',
              enum: ['sum-channels', 'mean'],
              enumDocs: {
                'sum-channels':
                  "The seed's: |y - y_hat| summed over channels, then averaged over batch, height and width " +
                  '(3x the per-element mean for RGB).',
                mean: "The paper's: the mean over every element.",
              },
              default: DEFAULTS.train.loss.l1Reduction,
              doc: 'How the L1 term is reduced. Defaults to `sum-channels` with `train.preset: seed`, `mean` with `paper`.',
            },
            realLabel: {
              kind: 'string',
              enum: ['zeros', 'one'],
              enumDocs: {
                zeros:
                  "The seed's `[0, 0]`: its script never sets the real batch's label, so the critic learns " +
                  '"fake" against "not sure" (the softmax is pushed to [0.5, 0.5]).',
                one: 'The corrected `[0, 1]`: "real", as the paper.',
              },
              default: DEFAULTS.train.loss.realLabel,
              doc:
                "The discriminator's label of a real batch (fake is `[1, 0]`). Defaults to `zeros` with " +
                '`train.preset: seed`, `one` with `paper`.',
            },
          },
        },
        checkpoint: {
          kind: 'object',
          doc: 'When the trainer writes a checkpoint (besides step 0, every epoch end and the last step), and how many it keeps.',
          properties: {
            minutes: {
              kind: 'number',
              exclusiveMinimum: 0,
              maximum: 1e6,
              default: DEFAULTS.train.checkpoint.minutes,
              doc: 'At most this many minutes of training unsaved: a checkpoint when this long has passed since the last.',
            },
            steps: {
              kind: 'number',
              integer: true,
              minimum: 1,
              maximum: 1e9,
              doc: 'Also a checkpoint every this many steps (none by default).',
            },
            keep: {
              kind: 'number',
              integer: true,
              minimum: 1,
              maximum: 1000,
              default: DEFAULTS.train.checkpoint.keep,
              doc: 'The newest checkpoints kept; the one of the best test L1 so far is kept as well.',
            },
          },
        },
        sampleEvery: {
          kind: 'number',
          exclusiveMinimum: 0,
          maximum: 1e6,
          default: DEFAULTS.train.sampleEvery,
          doc: 'Epochs between Train/Test sample figures (0.5: twice an epoch, as the seed).',
        },
        diversityDraws: {
          kind: 'number',
          integer: true,
          minimum: 0,
          maximum: 64,
          default: DEFAULTS.train.diversityDraws,
          doc:
            'Output diversity at each evaluation: this many outputs with dropout on, each with its own masks, for the first ' +
            '4 test inputs; their mean pairwise distance and per-pixel spread. 0 measures none.',
        },
        seed: {
          kind: 'number',
          integer: true,
          minimum: 0,
          maximum: 2 ** 31 - 1,
          default: DEFAULTS.train.seed,
          doc: 'Seed for weights, data order and splits.',
        },
        backend: {
          kind: 'string',
          enum: ['auto', 'tensorflow', 'webgpu', 'webgpu-tfjs', 'wasm', 'cpu'],
          enumDocs: {
            auto:
              'The fastest available: CUDA, then WebGPU on a hardware GPU, then native CPU, then wasm, then cpu. ' +
              'A software GPU (llvmpipe, SwiftShader) is passed over: it is slower than wasm.',
            tensorflow: '@tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node (optional installs).',
            webgpu:
              'WebGPU through Dawn for Node (Vulkan, Metal or D3D12): any GPU with a current driver; also a software adapter. ' +
              'Trains with the compiled step (the whole step built once, one submit per step).',
            'webgpu-tfjs':
              "WebGPU with tfjs-webgpu's op-by-op step instead of the compiled one (a fallback, and the benchmarks' peer).",
            wasm: 'WebAssembly (XNNPACK) on the CPU.',
            cpu: 'Pure JavaScript; the slow reference.',
          },
          default: DEFAULTS.train.backend,
          doc: 'TensorFlow.js backend for training.',
        },
      },
    },
  },
};

/** The keys of the config a sweep variant may override: all but `name` and `ablation`. */
export const VARIANT_KEYS = ['input', 'output', 'generator', 'discriminator', 'train'] as const;

const levelSpec = (what: string): Schema => ({
  kind: 'union',
  expected: '`all`, `none` or a list of decoder levels',
  doc: `Decoder levels ${what}.`,
  anyOf: [
    {
      kind: 'string',
      enum: ['all', 'none'],
      enumDocs: { all: 'Every decoder level.', none: 'No decoder level.' },
      doc: 'All or none.',
    },
    { kind: 'array', items: levelNumber(what), maxItems: 64, doc: `The decoder levels ${what}.` },
  ],
});

/** At most this many variants in one sweep. */
export const MAX_VARIANTS = 256;

configSchema.properties.ablation = {
  kind: 'object',
  doc:
    'An ablation sweep over this config (the base): named variants and generated ones, ' +
    'each an ordinary run in one sweep folder, trained from the same seed (with `seeds`, once per seed) on the same data. ' +
    '`pix2pix: Run Ablation` or `p2p ablate FILE` runs it; training this file alone ignores this section.',
  properties: {
    name: {
      kind: 'string',
      doc: 'Name of the sweep folder under `runs/`. Defaults to the config name followed by `-ablation`.',
    },
    steps: {
      kind: 'number',
      integer: true,
      minimum: 1,
      maximum: 100_000_000,
      doc: 'Training steps of every variant (instead of `train.epochs` epochs).',
    },
    select: {
      kind: 'string',
      enum: ['last', 'best'],
      default: ABLATION_DEFAULTS.select,
      enumDocs: {
        last: "Each variant's last evaluation.",
        best:
          "Each variant's evaluation of the lowest test L1: chosen on the test images themselves, so its numbers are " +
          'optimistic (the report says so).',
      },
      doc: 'Which evaluation of each run the report, `p2p ablate` and the panel table show.',
    },
    probeSkips: {
      kind: 'boolean',
      default: ABLATION_DEFAULTS.probeSkips,
      doc:
        "At the end of the sweep, probe each completed variant's skips (`p2p probe`: each skip dosed from 0 to 1 at " +
        'inference, no retraining); the report gets what each skip does.',
    },
    disjointHalves: {
      kind: 'boolean',
      default: ABLATION_DEFAULTS.disjointHalves,
      doc:
        'Also train each variant on the two disjoint halves of the training set (`<variant>-half1`, `-half2`, at the ' +
        "base's seed and split; Kadkhodaie et al. 2024). The report compares the two models' outputs on the same test " +
        'inputs with their distance to the target: outputs that agree mean the model generalises; outputs that each ' +
        'follow their own half mean it memorises.',
    },
    seeds: {
      kind: 'union',
      expected: 'a number of seeds or a list of seeds',
      doc:
        'Replicates: every variant trained once per seed (weights, dropout masks and batch order change with it; ' +
        "the data and its split stay the base's), each an ordinary run `<variant>-seed<s>`. A number N: " +
        '`train.seed`, `train.seed + 1`, ..., N seeds.',
      anyOf: [
        { kind: 'number', integer: true, minimum: 1, maximum: 20, doc: 'This many seeds from `train.seed` on.' },
        {
          kind: 'array',
          maxItems: 20,
          doc: 'These seeds.',
          items: { kind: 'number', integer: true, minimum: 0, maximum: 2 ** 31 - 1, doc: 'A `train.seed`.' },
        },
      ],
    },
    parallel: {
      kind: 'union',
      expected: '`auto` or a number of variants',
      default: ABLATION_DEFAULTS.parallel,
      doc: 'Variants trained at once. `auto`: one on a GPU; on a CPU backend, as many as there are cores to spare and memory for.',
      anyOf: [
        {
          kind: 'string',
          enum: ['auto'],
          enumDocs: { auto: 'One on a GPU; on a CPU backend, one per spare core while memory allows.' },
          doc: 'Decided by the backend.',
        },
        { kind: 'number', integer: true, minimum: 1, maximum: 64, doc: 'This many at once.' },
      ],
    },
    executor: {
      kind: 'string',
      enum: ['local', 'slurm'],
      default: ABLATION_DEFAULTS.executor,
      enumDocs: {
        local: 'A queue on this machine: `parallel` variants at a time, each in a child process.',
        slurm:
          'One SLURM job array (`sbatch --array`), task i training variant i; the sweep folder must be on a filesystem the nodes share. Settings in `slurm`.',
      },
      doc: 'Where the variants train: on this machine, or as a job array on a SLURM cluster (from a login node).',
    },
    slurm: {
      kind: 'object',
      doc: 'The job array of `executor: slurm`: what each task asks for, its time limit and how it checkpoints before it.',
      properties: {
        partition: { kind: 'string', doc: "The partition (`--partition`); the cluster's default when absent." },
        gres: {
          kind: 'string',
          default: SLURM_DEFAULTS.gres,
          doc: 'Generic resources of one task (`--gres`): `gpu:1`, `gpu:a100:1`. Empty for CPU-only tasks.',
        },
        time: {
          kind: 'string',
          doc:
            "Time limit of one task (`--time`): `minutes`, `hours:minutes:seconds` or `days-hours`; the partition's default when absent. " +
            'A task near its limit checkpoints and requeues itself.',
        },
        parallel: {
          kind: 'number',
          integer: true,
          minimum: 1,
          maximum: 10_000,
          doc: 'Tasks running at once (`--array=...%N`). Defaults to `ablation.parallel` when that is a number, else no limit.',
        },
        signal: {
          kind: 'number',
          integer: true,
          minimum: 10,
          maximum: 86_400,
          default: SLURM_DEFAULTS.signal,
          doc: 'Seconds before the time limit at which a task is told (SIGUSR2) to checkpoint and requeue itself. SLURM may send it up to 60 s early.',
        },
        requeues: {
          kind: 'number',
          integer: true,
          minimum: 0,
          maximum: 1000,
          default: SLURM_DEFAULTS.requeues,
          doc: 'How many times a task may requeue itself at its time limit (only after it made progress).',
        },
        sbatch: {
          kind: 'array',
          maxItems: 64,
          items: { kind: 'string', doc: 'An sbatch option (`--account=lab`) or a whole `#SBATCH` line.' },
          doc: 'More `#SBATCH` lines for the batch script, written as given.',
        },
      },
    },
    base: {
      kind: 'boolean',
      default: ABLATION_DEFAULTS.base,
      doc: 'Train the base config itself as variant `base` (left out when a generated variant is the same model).',
    },
    progressiveSkips: {
      kind: 'string',
      enum: ['shallowFirst', 'deepFirst'],
      enumDocs: {
        shallowFirst:
          "All skips, then without the shallowest (full-resolution) one, and so on down to none: the seed's ablation.",
        deepFirst: 'All skips, then without the deepest one (level 1), and so on down to none.',
      },
      doc: 'Generate one variant per step of removing skip connections one level at a time, from the U-Net to a plain encoder-decoder.',
    },
    dropoutLevels: {
      kind: 'array',
      maxItems: MAX_VARIANTS,
      items: levelSpec('with dropout'),
      doc: 'One variant per entry, each with dropout (at `generator.dropout.rate`) on those decoder levels.',
    },
    grid: {
      kind: 'grid',
      doc: 'One variant per combination of the listed values: keys are dotted config paths (`generator.upsampling`, `train.loss.l1`), values are lists.',
    },
    variants: {
      kind: 'array',
      maxItems: MAX_VARIANTS,
      doc: 'Named variants, each written as the parts of the config it changes (mappings merge into the base; lists and values replace).',
      items: {
        kind: 'object',
        doc: 'A variant: `name` and the keys it overrides.',
        properties: {
          name: { kind: 'string', doc: 'Name of the variant and of its run folder.' },
          ...Object.fromEntries(VARIANT_KEYS.map((k) => [k, configSchema.properties[k]])),
        },
      },
    },
  },
};

let gridCache: Map<string, Schema> | undefined;

/** Leaf paths of the config a grid may vary (`generator.upsampling`), with their schemas. */
export function gridPaths(): Map<string, Schema> {
  if (gridCache) return gridCache;
  const out = (gridCache = new Map<string, Schema>());
  const visit = (s: Schema, path: string[]) => {
    if (s.kind === 'object') {
      for (const [k, v] of Object.entries(s.properties)) visit(v, [...path, k]);
    } else if (s.kind !== 'array' || s.items.kind !== 'object') {
      out.set(path.join('.'), s);
    }
  };
  for (const k of VARIANT_KEYS) visit(configSchema.properties[k], [k]);
  return out;
}

/** The schema node at a path of keys and indices, or undefined when the path leaves the schema. */
export function schemaAt(path: readonly (string | number)[]): Schema | undefined {
  let node: Schema | undefined = configSchema;
  for (const seg of path) {
    if (!node) return undefined;
    node = childSchema(node, seg);
  }
  return node;
}

export function childSchema(node: Schema, seg: string | number): Schema | undefined {
  if (node.kind === 'object') return typeof seg === 'string' ? node.properties[seg] : undefined;
  if (node.kind === 'array') return typeof seg === 'number' ? node.items : undefined;
  if (node.kind === 'grid') {
    if (typeof seg !== 'string') return undefined;
    const leaf = gridPaths().get(seg);
    return (
      leaf && {
        kind: 'array',
        items: leaf,
        maxItems: MAX_VARIANTS,
        doc: `Values of \`${seg}\`, one variant each (crossed with the other keys). ${leaf.doc}`,
      }
    );
  }
  if (node.kind === 'union') {
    for (const alt of node.anyOf) {
      const c = childSchema(alt, seg);
      if (c) return c;
    }
  }
  return undefined;
}
