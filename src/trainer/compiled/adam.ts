/// <reference types="@webgpu/types" />
// Adam over a whole network in one dispatch: weights, gradients and both moments live in flat arenas (one buffer
// each, the variables end to end), so one thread updates one weight whatever layer it belongs to. tfjs-webgpu
// issues about 13 element-wise dispatches per variable for the same update.
//
// The arithmetic is tfjs's AdamOptimizer, operation for operation in float32: the moments, then both
// bias-corrected, then w = m_hat / (sqrt(v_hat) + epsilon) * -lr + w
// with the bias corrections 1 - beta^t that tfjs keeps as running products. They change every step, so they sit
// in a small buffer the host writes before it submits the step (`setStep`); everything else is bound once.

import { bindGroup, elementGroups, program, type Binding, type Program } from './layout';

const WORKGROUP = 256;

const wgsl = (twoGradients: boolean) => /* wgsl */ `
struct Params {
  lr: f32, beta1: f32, beta2: f32, epsilon: f32,
  oneMinusBeta1: f32, oneMinusBeta2: f32, correction1: f32, correction2: f32,
  count: u32,
}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> w: array<f32>;
@group(0) @binding(2) var<storage, read> g: array<f32>;
@group(0) @binding(3) var<storage, read_write> m: array<f32>;
@group(0) @binding(4) var<storage, read_write> v: array<f32>;
// A second gradient of the same weights, added to the first (the discriminator's update: fake and real pairs).
@group(0) @binding(5) var<storage, read> g2: array<f32>;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${WORKGROUP}u;
  if (i >= p.count) { return; }
  let grad = ${twoGradients ? 'g[i] + g2[i]' : 'g[i]'};
  let first = m[i] * p.beta1 + grad * p.oneMinusBeta1;
  let second = v[i] * p.beta2 + grad * grad * p.oneMinusBeta2;
  m[i] = first;
  v[i] = second;
  w[i] = (first / p.correction1) / (sqrt(second / p.correction2) + p.epsilon) * -p.lr + w[i];
}
`;

export interface AdamSettings {
  lr: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

export interface AdamArenas {
  weights: Binding;
  gradients: Binding;
  /** A second gradient arena added to the first. */
  gradients2?: Binding;
  first: Binding;
  second: Binding;
}

export class FusedAdam {
  private readonly program: Program;
  private readonly params: GPUBuffer;
  private bindGroup: GPUBindGroup | undefined;
  /** tfjs's running products beta^t, in float32 as tfjs keeps them. */
  private readonly products = new Float32Array(2);

  constructor(
    private readonly device: GPUDevice,
    private readonly settings: AdamSettings,
    readonly count: number,
    private readonly twoGradients = false,
  ) {
    this.params = device.createBuffer({ size: 48, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    this.program = program(device, {
      label: 'adam',
      code: wgsl(twoGradients),
      entryPoints: ['main'],
      uniform: [0],
      read: twoGradients ? [2, 5] : [2],
      write: [1, 3, 4],
    });
    this.products.set([settings.beta1, settings.beta2]);
  }

  /** Binds the network's arenas: weights, gradients, first and second moments (zeros at the start of a run). */
  bind(arenas: AdamArenas): void {
    const buffers = [this.params, arenas.weights, arenas.gradients, arenas.first, arenas.second];
    if (this.twoGradients) {
      if (!arenas.gradients2) throw new Error('adam: a second gradient arena is needed');
      buffers.push(arenas.gradients2);
    }
    this.bindGroup = bindGroup(this.device, this.program.layout, buffers);
  }

  /** Writes this step's bias corrections (before the step's submit), then advances tfjs's running products. */
  setStep(): void {
    const { lr, beta1, beta2, epsilon } = this.settings;
    const [c1, c2] = [1 - this.products[0], 1 - this.products[1]];
    const floats = new Float32Array([lr, beta1, beta2, epsilon, 1 - beta1, 1 - beta2, c1, c2, 0, 0, 0, 0]);
    new Uint32Array(floats.buffer)[8] = this.count;
    this.device.queue.writeBuffer(this.params, 0, floats);
    this.products[0] *= beta1;
    this.products[1] *= beta2;
  }

  /** Resumes tfjs's running products (after a checkpoint's `iterations` updates: beta^(iterations + 1)). */
  restore(products: { beta1Power: number; beta2Power: number }): void {
    this.products.set([products.beta1Power, products.beta2Power]);
  }

  record(pass: GPUComputePassEncoder): void {
    if (!this.bindGroup) throw new Error('adam: bind() its arenas before recording');
    pass.setPipeline(this.program.pipelines.main);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(...elementGroups(this.device, this.count, WORKGROUP));
  }
}
