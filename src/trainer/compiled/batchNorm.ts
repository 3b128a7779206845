/// <reference types="@webgpu/types" />
// BatchNormalization fused with the activation that follows it in the graph, forward and backward, over NHWC
// activations seen as (positions x channels). In training mode (batch statistics) it normalises per channel, or,
// inside TimeDistributed with per-patch statistics, per patch position and channel (the seed's patch model is
// called once per patch: rows are (image, patch, pixel) and each patch's statistics are over images and pixels);
// in inference mode (the seed's `generator.predict`) it uses the moving statistics:
//   statistics  per (patch,) channel: mean and 1 / sqrt(biased variance + epsilon), and the moving statistics
//               updated as tfjs-layers does in training mode (moving -= (moving - batch) * (1 - momentum)), once
//               per patch in patch order                                             one workgroup per channel
//               (momentum 1 leaves them as they are: the seed's frozen discriminator)
//   apply       y = act(gamma * (x - mean) * invStd + beta) * kept                   one thread per element
//   reduce      per (patch,) channel: dbeta = sum(dz), dgamma = sum(dz * xhat), dz = dy * act'(y) * kept; the
//               patches' sums added per channel
//   gradient    dx = gamma * invStd / P * (P * dz - dbeta - xhat * dgamma), P positions per statistic
// `kept` is the decoder's dropout mask (0 or 1 / keep probability), recomputed from its counters (dropout.ts).
// gamma and beta sit end to end in one binding (as a layer's variables do in the arena), and so do their gradients
// and the moving mean and variance. act' is read from y: for ReLU and LeakyReLU (alpha > 0) the sign of y is the
// sign of its input, so the normalised values need not be kept for the backward pass; x is (the convolution's
// output, kept anyway).

import { activationWgsl, type Activation } from './activation';
import { dropoutWgsl } from './dropout';
import { elementGroups, KernelInstance, type BufferSet } from './layout';

const REDUCE_THREADS = 256;
const ELEMENT_THREADS = 256;

export interface BatchNormShape {
  /** Batch x height x width (inside TimeDistributed, x patches). */
  positions: number;
  channels: number;
  /** Per-patch statistics: the patches per image and the pixels per patch. */
  patches?: { count: number; pixels: number };
  /** `inference`: the moving statistics, no dropout, forward only. */
  mode?: 'training' | 'inference';
  epsilon: number;
  /** Keras's momentum of the moving statistics (0.99). */
  momentum: number;
  activation: Activation;
  /** Dropout after the activation (the decoder's), its mask drawn per step from the layer's `seed` (dropout.ts). */
  dropout?: { rate: number; seed: number };
}

const UNIFORMS = {
  positions: 'u32',
  channels: 'u32',
  epsilon: 'f32',
  /** The step whose dropout masks the next recorded passes draw, and the layer's stream. */
  step: 'u32',
  seed: 'u32',
  /** 1 - momentum. */
  decay: 'f32',
  patches: 'u32',
  pixels: 'u32',
} as const;

const STORAGE = {
  x: 'read',
  /** gamma[c] at c, beta[c] at channels + c. */
  gb: 'read',
  /**
   * Per patch and channel (patch * channels + c): mean, invStd, then (backward) dbeta, dgamma; between the forward
   * pass and the backward pass of per-patch statistics, the third holds the variance for the moving statistics.
   */
  stats: 'write',
  y: 'write',
  dy: 'read',
  dx: 'write',
  /** dgamma[c] at c, dbeta[c] at channels + c. */
  dgb: 'write',
  /** The moving mean[c] at c, the moving variance[c] at channels + c. */
  moving: 'write',
} as const;

export type BatchNormBuffers = BufferSet<keyof typeof STORAGE>;

/** The activation and its slope, and the workgroup reduction every reducing kernel uses. */
function header(shape: BatchNormShape): string {
  return /* wgsl */ `
${activationWgsl(shape.activation)}
${shape.dropout ? dropoutWgsl(shape.dropout.rate) : 'fn kept(i: u32) -> f32 { return 1.0; }'}

// Row p of a statistic's rows: the pixels of one patch position across the batch (all rows with one patch).
fn row(pt: u32, p: u32) -> u32 {
  return (p / s.pixels * s.patches + pt) * s.pixels + p % s.pixels;
}
// The statistic of element i: its patch position and channel.
fn statistic(i: u32) -> u32 {
  let c = i % s.channels;
  return (i / s.channels / s.pixels % s.patches) * s.channels + c;
}
fn rows() -> u32 { return s.positions / s.patches; }

var<workgroup> partial: array<f32, ${REDUCE_THREADS}>;
var<workgroup> partial2: array<f32, ${REDUCE_THREADS}>;

// Sums partial[] and partial2[] into their first elements.
fn reduceBoth(t: u32) {
  for (var half = ${REDUCE_THREADS / 2}u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (t < half) {
      partial[t] += partial[t + half];
      partial2[t] += partial2[t + half];
    }
  }
  workgroupBarrier();
}

`;
}

const FORWARD = /* wgsl */ `@compute @workgroup_size(${REDUCE_THREADS})
fn statistics(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = group.x;
  let pt = group.y;
  let k = pt * s.channels + c;
  let n = rows();
  var sum = 0.0;
  for (var p = t; p < n; p += ${REDUCE_THREADS}u) { sum += x[row(pt, p) * s.channels + c]; }
  partial[t] = sum;
  partial2[t] = 0.0;
  reduceBoth(t);
  let mean = partial[0] / f32(n);
  workgroupBarrier();
  var squares = 0.0;
  for (var p = t; p < n; p += ${REDUCE_THREADS}u) {
    let d = x[row(pt, p) * s.channels + c] - mean;
    squares += d * d;
  }
  partial[t] = squares;
  reduceBoth(t);
  if (t == 0u) {
    let variance = partial[0] / f32(n);
    stats[k * 4u] = mean;
    stats[k * 4u + 1u] = inverseSqrt(variance + s.epsilon);
    stats[k * 4u + 2u] = variance;
    if (s.patches == 1u) {
      let movingMean = moving[c];
      moving[c] = movingMean - (movingMean - mean) * s.decay;
      let movingVariance = moving[s.channels + c];
      moving[s.channels + c] = movingVariance - (movingVariance - variance) * s.decay;
    }
  }
}

// Per-patch statistics: the moving statistics take each patch's in turn, as the seed's per-patch calls do.
@compute @workgroup_size(64)
fn movingPerPatch(@builtin(global_invocation_id) id: vec3u) {
  let c = id.x;
  if (c >= s.channels) { return; }
  var movingMean = moving[c];
  var movingVariance = moving[s.channels + c];
  for (var pt = 0u; pt < s.patches; pt++) {
    let k = pt * s.channels + c;
    movingMean = movingMean - (movingMean - stats[k * 4u]) * s.decay;
    movingVariance = movingVariance - (movingVariance - stats[k * 4u + 2u]) * s.decay;
  }
  moving[c] = movingMean;
  moving[s.channels + c] = movingVariance;
}

// Inference: the moving statistics as the statistics.
@compute @workgroup_size(64)
fn movingAsStatistics(@builtin(global_invocation_id) id: vec3u) {
  let c = id.x;
  if (c >= s.channels) { return; }
  stats[c * 4u] = moving[c];
  stats[c * 4u + 1u] = inverseSqrt(moving[s.channels + c] + s.epsilon);
}

// Element kernels run on a 2-D grid of workgroups: a large activation needs more than 65,535 in one dimension.
@compute @workgroup_size(${ELEMENT_THREADS})
fn apply(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${ELEMENT_THREADS}u;
  if (i >= s.positions * s.channels) { return; }
  let c = i % s.channels;
  let k = statistic(i);
  y[i] = activated(gb[c] * (x[i] - stats[k * 4u]) * stats[k * 4u + 1u] + gb[s.channels + c]) * kept(i);
}

`;

const BACKWARD = /* wgsl */ `@compute @workgroup_size(${REDUCE_THREADS})
fn reduceGradient(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) t: u32) {
  let c = group.x;
  let pt = group.y;
  let k = pt * s.channels + c;
  let mean = stats[k * 4u];
  let invStd = stats[k * 4u + 1u];
  var dbeta = 0.0;
  var dgamma = 0.0;
  for (var p = t; p < rows(); p += ${REDUCE_THREADS}u) {
    let i = row(pt, p) * s.channels + c;
    let dz = dy[i] * slope(y[i]) * kept(i);
    dbeta += dz;
    dgamma += dz * (x[i] - mean) * invStd;
  }
  partial[t] = dbeta;
  partial2[t] = dgamma;
  reduceBoth(t);
  if (t == 0u) {
    stats[k * 4u + 2u] = partial[0];
    stats[k * 4u + 3u] = partial2[0];
    if (s.patches == 1u) {
      dgb[c] = partial2[0];
      dgb[s.channels + c] = partial[0];
    }
  }
}

// Per-patch statistics: gamma's and beta's gradients are the sums over the patches.
@compute @workgroup_size(64)
fn sumPatches(@builtin(global_invocation_id) id: vec3u) {
  let c = id.x;
  if (c >= s.channels) { return; }
  var dbeta = 0.0;
  var dgamma = 0.0;
  for (var pt = 0u; pt < s.patches; pt++) {
    let k = pt * s.channels + c;
    dbeta += stats[k * 4u + 2u];
    dgamma += stats[k * 4u + 3u];
  }
  dgb[c] = dgamma;
  dgb[s.channels + c] = dbeta;
}

@compute @workgroup_size(${ELEMENT_THREADS})
fn gradient(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${ELEMENT_THREADS}u;
  if (i >= s.positions * s.channels) { return; }
  let c = i % s.channels;
  let k = statistic(i);
  let invStd = stats[k * 4u + 1u];
  let xhat = (x[i] - stats[k * 4u]) * invStd;
  let n = f32(rows());
  let dz = dy[i] * slope(y[i]) * kept(i);
  dx[i] = gb[c] * invStd / n * (n * dz - stats[k * 4u + 2u] - xhat * stats[k * 4u + 3u]);
}
`;

const wgsl = (shape: BatchNormShape) => header(shape) + FORWARD + BACKWARD;

const KERNELS = [
  'statistics',
  'movingPerPatch',
  'movingAsStatistics',
  'apply',
  'reduceGradient',
  'sumPatches',
  'gradient',
] as const;
type Kernel = (typeof KERNELS)[number];

export class FusedBatchNorm {
  private readonly kernel: KernelInstance<keyof typeof STORAGE, keyof typeof UNIFORMS>;

  constructor(
    private readonly device: GPUDevice,
    readonly shape: BatchNormShape,
  ) {
    const patches = shape.patches ?? { count: 1, pixels: shape.positions };
    const spec = { label: 'batch norm', uniforms: UNIFORMS, storage: STORAGE, code: wgsl(shape), entryPoints: KERNELS };
    this.kernel = new KernelInstance(device, spec, {
      positions: shape.positions,
      channels: shape.channels,
      epsilon: shape.epsilon,
      step: 0,
      seed: shape.dropout?.seed ?? 0,
      // tfjs-layers computes 1 - momentum in double precision, then uses it as a float32.
      decay: 1 - shape.momentum,
      patches: patches.count,
      pixels: patches.pixels,
    });
  }

  bind(buffers: BatchNormBuffers): void {
    this.kernel.bind(buffers);
  }

  /** The step whose dropout masks the next recorded passes draw (written before the step's submit). */
  setStep(step: number): void {
    if (this.shape.dropout) this.kernel.uniforms.write({ step });
  }

  /** The forward pass: statistics (and the moving statistics) or, in inference, the moving ones; then normalise, activate and drop. */
  recordForward(pass: GPUComputePassEncoder): void {
    const channels = this.shape.channels;
    if (this.shape.mode === 'inference') {
      this.dispatch(pass, 'movingAsStatistics', [Math.ceil(channels / 64), 1]);
    } else {
      this.dispatch(pass, 'statistics', [channels, this.patches()]);
      if (this.patches() > 1) this.dispatch(pass, 'movingPerPatch', [Math.ceil(channels / 64), 1]);
    }
    this.dispatch(pass, 'apply', this.elements());
  }

  /** The backward pass from dy (the activation's output gradient): dgamma and dbeta, then dx. */
  recordBackward(pass: GPUComputePassEncoder): void {
    if (this.shape.mode === 'inference') throw new Error('batch norm: an inference pass has no backward pass');
    this.dispatch(pass, 'reduceGradient', [this.shape.channels, this.patches()]);
    if (this.patches() > 1) this.dispatch(pass, 'sumPatches', [Math.ceil(this.shape.channels / 64), 1]);
    this.dispatch(pass, 'gradient', this.elements());
  }

  private patches(): number {
    return this.shape.patches?.count ?? 1;
  }

  private elements(): [number, number] {
    return elementGroups(this.device, this.shape.positions * this.shape.channels, ELEMENT_THREADS);
  }

  private dispatch(pass: GPUComputePassEncoder, kernel: Kernel, [x, y]: [number, number]): void {
    this.kernel.dispatch(pass, kernel, x, y);
  }
}
