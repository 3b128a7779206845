/// <reference types="@webgpu/types" />
// The losses of the compiled step, each with the gradient it starts the backward pass with (pix2pix.ts has the
// same losses in tfjs):
//   output  the generator's output activation (tanh, sigmoid or linear) applied to the last convolution, the L1
//           term weight * c * mean |out - truth| (c: the channels where it sums over them, else 1) and the gradient
//           of the pre-activation: (weight * c * sign(out - truth) / count + dOut) * act'(out), where dOut is what
//           the GAN term sent back through the discriminator's input
//   softmax the discriminator's [fake, real] probabilities of its logits, the cross-entropy with a target t
//           weight * -mean(sum_k t_k log(clip(p[:, k], 1e-7, 1))) and its gradient weight * (p sum(t) - t) / rows
//           (a term's share is zero where its clip holds, as tfjs's clipByValue passes no gradient there)
// Each sums its loss in one workgroup and writes it to its slot of a small losses buffer, read once per step.

import { elementGroups, KernelInstance, type BufferSet, type KernelSpec } from './layout';

const THREADS = 256;

export type OutputActivation = 'tanh' | 'sigmoid' | 'linear';

const REDUCE = /* wgsl */ `
var<workgroup> partial: array<f32, ${THREADS}>;
fn total(t: u32, v: f32) -> f32 {
  partial[t] = v;
  for (var half = ${THREADS / 2}u; half > 0u; half = half / 2u) {
    workgroupBarrier();
    if (t < half) { partial[t] += partial[t + half]; }
  }
  workgroupBarrier();
  return partial[0];
}
`;

type OutputBinding = 'pre' | 'truth' | 'dOut' | 'out' | 'dPre' | 'losses';

export type OutputBuffers = BufferSet<OutputBinding>;

function outputSpec(
  activation: OutputActivation,
): KernelSpec<OutputBinding, 'count' | 'slot' | 'weight' | 'channelSum'> {
  return {
    label: 'output loss',
    uniforms: { count: 'u32', slot: 'u32', weight: 'f32', channelSum: 'f32' },
    storage: { pre: 'read', truth: 'read', dOut: 'read', out: 'write', dPre: 'write', losses: 'write' },
    code: outputWgsl(activation),
    entryPoints: ['activation', 'l1'],
  };
}

function outputWgsl(activation: OutputActivation): string {
  const act = {
    tanh: ['tanh(z)', '1.0 - y * y'],
    sigmoid: ['1.0 / (1.0 + exp(-z))', 'y * (1.0 - y)'],
    linear: ['z', '1.0'],
  }[activation];
  return /* wgsl */ `
${REDUCE}
fn activate(z: f32) -> f32 { return ${act[0]}; }
fn slope(y: f32) -> f32 { return ${act[1]}; }

@compute @workgroup_size(${THREADS})
fn activation(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${THREADS}u;
  if (i < s.count) { out[i] = activate(pre[i]); }
}

// One workgroup: the L1 term, then every element's gradient.
@compute @workgroup_size(${THREADS})
fn l1(@builtin(local_invocation_index) t: u32) {
  var sum = 0.0;
  let scale = s.weight * s.channelSum / f32(s.count);
  for (var i = t; i < s.count; i += ${THREADS}u) {
    let d = out[i] - truth[i];
    sum += abs(d);
    dPre[i] = (scale * sign(d) + dOut[i]) * slope(out[i]);
  }
  let l1 = total(t, sum);
  if (t == 0u) { losses[s.slot] = l1 * s.channelSum / f32(s.count); }
}
`;
}

type CrossEntropyBinding = 'logits' | 'p' | 'dLogits' | 'losses';

const CROSS_ENTROPY: KernelSpec<CrossEntropyBinding, 'rows' | 'slot' | 'weight' | 'target0' | 'target1'> = {
  label: 'softmax cross-entropy',
  uniforms: { rows: 'u32', slot: 'u32', weight: 'f32', target0: 'f32', target1: 'f32' },
  storage: { logits: 'read', p: 'write', dLogits: 'write', losses: 'write' },
  entryPoints: ['main'],
  code: /* wgsl */ `
${REDUCE}

// The loss is -sum_k t_k log(clip(q_k)); its gradient by z_j is sum_k t_k g_k (q_j - [j == k]), where g_k is 1
// where the clip passes q_k and 0 where it holds.
@compute @workgroup_size(${THREADS})
fn main(@builtin(local_invocation_index) t: u32) {
  var sum = 0.0;
  let goal = vec2f(s.target0, s.target1);
  for (var r = t; r < s.rows; r += ${THREADS}u) {
    let z = vec2f(logits[r * 2u], logits[r * 2u + 1u]);
    let e = exp(z - max(z.x, z.y));
    let q = e / (e.x + e.y);
    p[r * 2u] = q.x;
    p[r * 2u + 1u] = q.y;
    let clipped = clamp(q, vec2f(1e-7), vec2f(1.0));
    sum -= select(0.0, goal.x * log(clipped.x), goal.x != 0.0) + select(0.0, goal.y * log(clipped.y), goal.y != 0.0);
    let passes = select(vec2f(0.0), vec2f(1.0), (q >= vec2f(1e-7)) & (q <= vec2f(1.0)));
    let weights = goal * passes;
    let scale = s.weight / f32(s.rows);
    dLogits[r * 2u] = scale * (q.x * (weights.x + weights.y) - weights.x);
    dLogits[r * 2u + 1u] = scale * (q.y * (weights.x + weights.y) - weights.y);
  }
  let loss = total(t, sum);
  if (t == 0u) { losses[s.slot] = loss / f32(s.rows); }
}
`,
};

/** The generator's output activation, its L1 term (loss slot `slot`) and the gradient its backward pass starts from. */
export class OutputLoss {
  private readonly kernel: KernelInstance<OutputBinding>;

  constructor(
    private readonly device: GPUDevice,
    readonly shape: {
      count: number;
      activation: OutputActivation;
      weight: number;
      slot: number;
      /** 1 for the per-element mean; the channels for the seed's sum over channels (then the mean of the rest). */
      channelSum?: number;
    },
  ) {
    const { count, slot, weight } = shape;
    const uniforms = { count, slot, weight, channelSum: shape.channelSum ?? 1 };
    this.kernel = new KernelInstance(device, outputSpec(shape.activation), uniforms);
  }

  bind(buffers: OutputBuffers): void {
    this.kernel.bind(buffers);
  }

  /** The output image, from the last convolution's pre-activation. */
  recordForward(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, 'activation', ...elementGroups(this.device, this.shape.count, THREADS));
  }

  /** The L1 term and the pre-activation's gradient, once dOut holds the GAN term's share. */
  recordBackward(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, 'l1', 1);
  }
}

/**
 * The discriminator's softmax and its cross-entropy with a target over [fake, real] (`[1, 0]` fake, `[0, 1]` real,
 * `[0.5, 0.5]` the seed's `[0, 0]` label: core/trainingLoop.ts), weighted, in loss slot `slot`.
 */
export class SoftmaxCrossEntropy {
  private readonly kernel: KernelInstance<CrossEntropyBinding>;

  constructor(
    device: GPUDevice,
    readonly shape: { rows: number; target: readonly [number, number]; weight: number; slot: number },
  ) {
    const [target0, target1] = shape.target;
    const { rows, slot, weight } = shape;
    this.kernel = new KernelInstance(device, CROSS_ENTROPY, { rows, slot, weight, target0, target1 });
  }

  bind(buffers: BufferSet<CrossEntropyBinding>): void {
    this.kernel.bind(buffers);
  }

  record(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, 'main', 1);
  }
}
