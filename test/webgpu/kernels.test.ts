// Every kernel a pix2pix training step runs on webgpu, against the cpu backend, on random shapes: values and
// gradients. The backend is the trainer's own (chooseBackend: this project's device, flags and gradients). The
// last test profiles real training steps and fails when they run a kernel that no case here covers.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import type * as TF from '@tensorflow/tfjs';
import { analyze } from '../../src/core/analysis';
import { realTarget } from '../../src/core/trainingLoop';
import { buildModel } from '../../src/model/build';
import type { Tf } from '../../src/model/tf';
import { chooseBackend } from '../../src/trainer/backends';
import { bce, crossEntropy, l1Loss, stepOnBatch } from '../../src/trainer/pix2pix';
import { type Nets } from '../../src/model/nets';
import { int, pick, rng } from '../support/marked';

const TINY = readFileSync(join(__dirname, '../../examples/tiny.p2p.yaml'), 'utf8');

let tf: Tf;
const r = rng(2024);

before(async () => {
  await chooseBackend('cpu');
  tf = (await chooseBackend('webgpu')).tf;
});

interface Case {
  /** Kernels this case runs (forward and backward). */
  kernels: string[];
  /** Input shapes; values are uniform in [lo, hi]. */
  shapes: number[][];
  lo?: number;
  hi?: number;
  /** The op, on whichever backend is active; gradients are taken for every input unless `grad` is false. */
  f: (...xs: TF.Tensor[]) => TF.Tensor;
  grad?: boolean;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const data = (n: number, lo = -1, hi = 1) => Float32Array.from({ length: n }, () => lo + (hi - lo) * r());

/** Outputs and input gradients of `c` on `backend`, as plain arrays. */
async function run(backend: string, c: Case, inputs: Float32Array[], dy: Float32Array): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const xs = inputs.map((d, i) => tf.tensor(d, c.shapes[i]));
  const y = c.f(...xs);
  const dyT = tf.tensor(dy.subarray(0, size(y.shape)), y.shape);
  const out = [y, ...(c.grad === false ? [] : tf.grads((...a: TF.Tensor[]) => tf.sum(tf.mul(c.f(...a), dyT)))(xs))];
  const values = await Promise.all(out.map(async (t) => Float32Array.from(await t.data())));
  tf.dispose([...xs, ...out, dyT]);
  return values;
}

function relativeError(actual: Float32Array, expected: Float32Array): number {
  assert.equal(actual.length, expected.length);
  let scale = 1e-3;
  let worst = 0;
  for (let i = 0; i < actual.length; i++) {
    scale = Math.max(scale, Math.abs(expected[i]));
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  }
  return worst / scale;
}

async function check(label: string, c: Case, tolerance = 2e-5): Promise<void> {
  const inputs = c.shapes.map((s) => data(size(s), c.lo, c.hi));
  const dy = data(1 << 20);
  const expected = await run('cpu', c, inputs, dy);
  const actual = await run('webgpu', c, inputs, dy);
  actual.forEach((a, i) => {
    const e = relativeError(a, expected[i]);
    assert.ok(
      e < tolerance,
      `${label} ${JSON.stringify(c.shapes)}: ${i === 0 ? 'value' : `gradient ${i}`} differs by ${e.toExponential(2)}`,
    );
  });
}

const covered = new Set<string>();
/** Runs `make` on `times` random draws and records the kernels it covers. */
async function cases(label: string, times: number, make: () => Case, tolerance?: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    const c = make();
    c.kernels.forEach((k) => covered.add(k));
    await check(label, c, tolerance);
  }
}

const shape4 = () => [int(r, 1, 3), int(r, 1, 9), int(r, 1, 9), int(r, 1, 7)];

describe('webgpu kernels against cpu', () => {
  it('convolutions: forward (fused bias and activation), input and filter gradients, transposed', async () => {
    const conv = () => {
      const k = int(r, 1, 4);
      const [n, h, w, cin] = [int(r, 1, 3), int(r, k, 17), int(r, k, 17), int(r, 1, 9)];
      return {
        x: [n, h, w, cin],
        f: [k, k, cin, int(r, 1, 9)],
        s: pick(r, [1, 2]) as 1 | 2,
        pad: pick(r, ['same', 'valid'] as const),
      };
    };
    await cases('conv2d', 8, () => {
      const g = conv();
      return {
        kernels: ['FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
        shapes: [g.x, g.f, [g.f[3]]],
        f: (x, f, b) =>
          tf.fused.conv2d({ x: x as TF.Tensor4D, filter: f as TF.Tensor4D, bias: b, strides: g.s, pad: g.pad }),
      };
    });
    await cases('conv2d without bias', 4, () => {
      const g = conv();
      return {
        kernels: ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'],
        shapes: [g.x, g.f],
        f: (x, f) => tf.conv2d(x as TF.Tensor4D, f as TF.Tensor4D, g.s, g.pad),
      };
    });
    await cases('conv2dTranspose (upsampling: transpose)', 6, () => {
      const [n, h, w, cin, cout] = [int(r, 1, 3), int(r, 1, 9), int(r, 1, 9), int(r, 1, 9), int(r, 1, 9)];
      const s = pick(r, [1, 2]);
      return {
        kernels: ['Conv2DBackpropInput', 'Conv2D', 'Conv2DBackpropFilter'],
        shapes: [
          [n, h, w, cin],
          [3, 3, cout, cin],
        ],
        f: (x, f) => tf.conv2dTranspose(x as TF.Tensor4D, f as TF.Tensor4D, [n, h * s, w * s, cout], s, 'same'),
      };
    });
  });

  it("BatchNormalization and its gradient (this project's broadcast form)", async () => {
    await cases('batchNorm', 6, () => {
      const s = shape4();
      const c = [s[3]];
      return {
        kernels: ['FusedBatchNorm', 'Rsqrt', 'Sub', 'Multiply', 'Add', 'Sum', 'Reshape'],
        shapes: [s, c, c, c, c],
        f: (x, mean, variance, scale, offset) =>
          tf.batchNorm(x as TF.Tensor4D, mean, tf.add(tf.abs(variance), 0.1), offset, scale, 1e-3),
      };
    });
    await cases('moments (batch statistics)', 4, () => ({
      kernels: ['Mean', 'Square', 'Sub', 'Reshape'],
      shapes: [shape4()],
      f: (x) => tf.add(tf.moments(x, [0, 1, 2]).mean, tf.moments(x, [0, 1, 2]).variance),
    }));
    // The seed discriminator's per-patch BatchNorm (model/build.ts, on (batch, patches, pixels, c)): moments over
    // the batch and the pixels of each patch, the
    // normalised values through rsqrt (whose gradient is a Pow); the moving statistics patch by patch (Unpack, no
    // gradient: they are written to their variables).
    const patches = () => [int(r, 1, 3), int(r, 1, 5), int(r, 1, 9), int(r, 1, 6)];
    await cases('per-patch moments, normalised', 4, () => ({
      kernels: ['Mean', 'Square', 'Sub', 'Rsqrt', 'Pow', 'Reshape', 'Multiply', 'Add'],
      shapes: [patches()],
      f: (x) => {
        const { mean, variance } = tf.moments(x, [0, 2], true);
        return tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-3)));
      },
    }));
    await cases('per-patch statistics unstacked', 2, () => {
      const s = patches();
      return {
        kernels: ['Unpack'],
        shapes: [s],
        grad: false,
        f: (x) => tf.stack(tf.unstack(tf.reshape(tf.mean(x, [0, 2]), [-1, s[3]])).reverse()),
      };
    });
  });

  it('nearest upsampling and its gradient, against the exact block sums too', async () => {
    await cases('resizeNearestNeighbor', 6, () => {
      const [n, h, w, c] = shape4();
      const f = pick(r, [2, 2, 3]);
      return {
        kernels: ['ResizeNearestNeighbor', 'ResizeNearestNeighborGrad'],
        shapes: [[n, h, w, c]],
        f: (x) => tf.image.resizeNearestNeighbor(x as TF.Tensor4D, [h * f, w * f]),
      };
    });
  });

  it('concatenation, stacking, splitting, slicing, padding, reshapes and transposes', async () => {
    await cases('concat', 5, () => {
      const s = shape4();
      const t = [...s.slice(0, 3), int(r, 1, 7)];
      return { kernels: ['Concat', 'Slice'], shapes: [s, t], f: (a, b) => tf.concat([a, b], -1) };
    });
    await cases('stack', 3, () => ({
      kernels: ['Pack', 'Reshape'],
      shapes: [[], [], [], []],
      f: (a, b, c, d) => tf.stack([a, b, c, d]),
    }));
    await cases('split', 3, () => {
      const s = shape4();
      const a = int(r, 0, 3);
      s[a] = Math.max(2, s[a]); // two non-empty parts
      const cut = Math.floor(s[a] / 2);
      return { kernels: ['SplitV'], shapes: [s], f: (x) => tf.mul(tf.split(x, [cut, s[a] - cut], a)[1], 2) };
    });
    await cases('slice', 3, () => ({
      kernels: ['Slice', 'PadV2'],
      shapes: [[int(r, 1, 6), 2]],
      f: (p) => tf.slice(p, [0, 1], [-1, 1]),
    }));
    await cases('pad', 3, () => ({
      kernels: ['PadV2', 'Slice'],
      shapes: [shape4()],
      f: (x) =>
        tf.pad(
          x,
          [
            [0, 0],
            [1, 2],
            [0, 1],
            [0, 0],
          ],
          0.5,
        ),
    }));
    await cases('reshape and transpose (the PatchGAN tiling)', 4, () => {
      const [n, t, c] = [int(r, 1, 3), pick(r, [2, 4]), int(r, 1, 4)];
      const p = int(r, 1, 4);
      return {
        kernels: ['Reshape', 'Transpose'],
        shapes: [[n, t * p, t * p, c]],
        f: (x) => tf.reshape(tf.transpose(tf.reshape(x, [n, t, p, t, p, c]), [0, 1, 3, 2, 4, 5]), [n * t * t, p, p, c]),
      };
    });
  });

  it('dense layers, softmax and the losses (L1, BCE on softmax)', async () => {
    await cases('fused matMul + bias (Dense)', 5, () => {
      const [m, k, n] = [int(r, 1, 12), int(r, 1, 40), int(r, 1, 6)];
      return {
        kernels: ['_FusedMatMul', 'BatchMatMul', 'Sum', 'Reshape'],
        shapes: [[m, k], [k, n], [n]],
        f: (a, b, bias) => tf.fused.matMul({ a, b, bias }),
      };
    });
    await cases('batched matMul', 3, () => {
      const [b, m, k, n] = [int(r, 1, 4), int(r, 1, 9), int(r, 1, 9), int(r, 1, 9)];
      return {
        kernels: ['BatchMatMul'],
        shapes: [
          [b, m, k],
          [b, k, n],
        ],
        f: (a, c) => tf.matMul(a, c),
      };
    });
    await cases('softmax', 4, () => ({
      kernels: ['Softmax', 'Multiply', 'Sum', 'Sub'],
      shapes: [[int(r, 1, 12), 2]],
      lo: -4,
      hi: 4,
      f: (x) => tf.softmax(x),
    }));
    await cases('BCE on softmax', 4, () => {
      const cls = pick(r, [0, 1] as const);
      return {
        kernels: [
          'ClipByValue',
          'Log',
          'Mean',
          'Neg',
          'Slice',
          'Greater',
          'LessEqual',
          'LogicalAnd',
          'Select',
          'ZerosLike',
        ],
        shapes: [[int(r, 1, 12), 2]],
        lo: 0.05,
        hi: 1,
        f: (p) => bce(tf, p, cls),
      };
    });
    await cases('BCE at the clip', 2, () => ({
      kernels: ['ClipByValue', 'GreaterEqual', 'LessEqual'],
      shapes: [[4, 2]],
      lo: 0,
      hi: 1e-8,
      f: (p) => bce(tf, p, 1),
    }));
    await cases("cross-entropy with the seed's real label [0, 0] (both columns)", 3, () => ({
      kernels: ['AddN', 'ClipByValue', 'Log', 'Mean', 'Neg', 'Slice', 'Multiply'],
      shapes: [[int(r, 1, 12), 2]],
      lo: 0.05,
      hi: 1,
      f: (p) => crossEntropy(tf, p, realTarget('zeros')),
    }));
    await cases('L1 summed over channels', 3, () => {
      const s = shape4();
      return {
        kernels: ['Abs', 'Sub', 'Sum', 'Mean', 'Sign'],
        shapes: [s, s],
        f: (a, b) => l1Loss(tf, a, b, 'sum-channels'),
      };
    });
    await cases('L1', 4, () => {
      const s = shape4();
      return {
        kernels: ['Abs', 'Sub', 'Mean', 'Step', 'Sign', 'Cast', 'RealDiv'],
        shapes: [s, s],
        f: (a, b) => l1Loss(tf, a, b),
      };
    });
  });

  it('activations, dropout, and the element-wise ops of Adam', async () => {
    const unary: [string, string[], (x: TF.Tensor) => TF.Tensor, number?, number?][] = [
      ['relu', ['Relu', 'Step', 'Multiply'], (x) => tf.relu(x)],
      ['leakyRelu 0.2', ['LeakyRelu', 'Greater', 'Select'], (x) => tf.leakyRelu(x, 0.2)],
      ['tanh', ['Tanh', 'Square', 'Sub'], (x) => tf.tanh(x)],
      ['sigmoid', ['Sigmoid'], (x) => tf.sigmoid(x)],
      ['sqrt', ['Sqrt', 'RealDiv'], (x) => tf.sqrt(x), 0.1, 4],
      ['square', ['Square'], (x) => tf.square(x)],
      ['neg', ['Neg'], (x) => tf.neg(x)],
      ['floor', ['Floor', 'ZerosLike'], (x) => tf.floor(x), -3, 3],
      ['cast', ['Cast'], (x) => tf.cast(tf.cast(tf.mul(x, 4), 'int32'), 'float32'), -3, 3],
      ['identity', ['Identity'], (x) => tf.clone(x)],
    ];
    for (const [label, kernels, f, lo, hi] of unary)
      await cases(label, 2, () => ({ kernels, shapes: [shape4()], lo, hi, f }));
    await cases('dropout mask (0.5)', 3, () => {
      const s = shape4();
      const mask = data(size(s), 0, 1);
      return {
        kernels: ['Floor', 'Add', 'Multiply', 'RealDiv'],
        shapes: [s],
        f: (x) => tf.mul(tf.div(x, 0.5), tf.floor(tf.add(tf.tensor(mask, s), 0.5))),
      };
    });
    await cases('broadcasting add, sub, mul, div', 6, () => {
      const s = shape4();
      const t = pick(r, [s, [s[3]], [1, 1, 1, s[3]], []]);
      const op = pick(r, [tf.add, tf.sub, tf.mul, tf.div]);
      return {
        kernels: ['Add', 'Sub', 'Multiply', 'RealDiv', 'Sum', 'Reshape', 'Neg', 'Square'],
        shapes: [s, t],
        lo: 0.2,
        hi: 2,
        f: (a, b) => op(a, b),
      };
    });
    await cases('Adam update (m, v, sqrt, div)', 3, () => {
      const s = shape4();
      return {
        kernels: ['Multiply', 'Add', 'Square', 'Sqrt', 'RealDiv', 'Sub'],
        shapes: [s, s, s, s],
        grad: false,
        f: (w, g, m, v) => {
          const m1 = tf.add(tf.mul(m, 0.9), tf.mul(g, 0.1));
          const v1 = tf.add(tf.mul(tf.abs(v), 0.999), tf.mul(tf.square(g), 0.001));
          return tf.sub(w, tf.div(tf.mul(m1, 1e-3), tf.add(tf.sqrt(v1), 1e-8)));
        },
      };
    });
    await cases('reductions', 4, () => {
      const s = shape4();
      const axes = pick(r, [[0, 1, 2], [-1], [0], undefined]);
      return { kernels: ['Sum', 'Mean'], shapes: [s], f: (x) => tf.add(tf.sum(x, axes), tf.mean(x, axes)) };
    });
  });

  it('nearest upsampling gradient equals the exact block sums', async () => {
    await tf.setBackend('webgpu');
    for (const [n, h, w, c, f] of [
      [5, 2, 2, 64, 2],
      [2, 3, 5, 3, 3],
      [5, 16, 16, 32, 2],
    ]) {
      const x = data(n * h * w * c);
      const dy = data(n * f * f * h * w * c);
      const exact = new Float32Array(x.length);
      for (let b = 0; b < n; b++)
        for (let y = 0; y < f * h; y++)
          for (let xx = 0; xx < f * w; xx++)
            for (let ch = 0; ch < c; ch++)
              exact[((b * h + Math.floor(y / f)) * w + Math.floor(xx / f)) * c + ch] +=
                dy[((b * f * h + y) * f * w + xx) * c + ch];
      const dyT = tf.tensor4d(dy, [n, f * h, f * w, c]);
      const g = tf.grad((t: TF.Tensor) =>
        tf.sum(tf.mul(tf.image.resizeNearestNeighbor(t as TF.Tensor4D, [f * h, f * w]), dyT)),
      )(tf.tensor4d(x, [n, h, w, c]));
      assert.ok(relativeError(Float32Array.from(await g.data()), exact) < 1e-6, `${[n, h, w, c, f]}`);
      tf.dispose([g, dyT]);
    }
  });

  it('covers every kernel that training steps run on webgpu (tiny, transpose upsampling, sigmoid and linear outputs, both discriminators)', async () => {
    await tf.setBackend('webgpu');
    const configs = [
      TINY,
      TINY.replace('levels: 5', 'levels: 5\n  upsampling: transpose').replace(
        'output: { channels: 3 }',
        'output: { channels: 3, activation: sigmoid }',
      ),
      TINY.replace('output: { channels: 3 }', 'output: { channels: 3, activation: linear }').replace(
        'dropout: { rate: 0.5, levels: [1, 2] }',
        'dropout: { levels: none }',
      ),
      TINY.replace('discriminator:\n', 'discriminator:\n  type: patchgan\n'),
      `${TINY}\n  loop: paper\n  evalMode: training\n`.replace(
        'discriminator:\n',
        'discriminator:\n  patchNorm: shared\n',
      ),
    ];
    const seen = new Set<string>();
    for (const text of configs) {
      const a = analyze(text);
      assert.ok(a.generator && a.discriminator, JSON.stringify(a.diagnostics));
      const nets: Nets = {
        generator: buildModel(tf, a.generator),
        discriminator: buildModel(tf, a.discriminator),
        gOptimizer: tf.train.adam(1e-3),
        dOptimizer: tf.train.adam(1e-3),
      };
      const x = tf.randomUniform([2, 32, 32, 1], -1, 1) as TF.Tensor4D;
      const y = tf.randomUniform([2, 32, 32, 3], -1, 1) as TF.Tensor4D;
      // Both of the seed loop's steps: the discriminator on a real batch, then on a generated one.
      const info = await tf.profile(async () => {
        await stepOnBatch(tf, nets, a.config.train, x, y, 0);
        await stepOnBatch(tf, nets, a.config.train, x, y, 1);
      });
      info.kernels.forEach((k) => seen.add(k.name));
      tf.dispose([x, y]);
      for (const m of [nets.generator, nets.discriminator]) m.dispose();
      nets.gOptimizer.dispose();
      nets.dOptimizer.dispose();
    }
    const untested = [...seen].filter((k) => !k.endsWith('__op') && !covered.has(k)).sort();
    assert.deepEqual(untested, [], `kernels a training step runs that no case covers: ${untested.join(', ')}`);
  });
});
