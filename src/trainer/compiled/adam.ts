/// <reference types="@webgpu/types" />
// Adam over a whole network in one dispatch: weights, gradients and both moments live in flat arenas (one buffer
// each, the variables end to end), so one thread updates one weight whatever layer it belongs to. tfjs-webgpu
// issues about 13 element-wise dispatches per variable for the same update.
//
// The arithmetic is tfjs's AdamOptimizer, operation for operation in float32: the moments, then both
// bias-corrected, then w = m_hat / (sqrt(v_hat) + epsilon) * -lr + w
// with the bias corrections 1 - beta^t that tfjs keeps as running products. They change every step, so they sit
// in a small buffer the host writes before it submits the step (`setStep`); everything else is bound once.

import { elementGroups, KernelInstance, type Binding, type KernelSpec, type UniformValues } from './layout';

const WORKGROUP = 256;

const UNIFORMS = {
  lr: 'f32',
  beta1: 'f32',
  beta2: 'f32',
  epsilon: 'f32',
  oneMinusBeta1: 'f32',
  oneMinusBeta2: 'f32',
  correction1: 'f32',
  correction2: 'f32',
  count: 'u32',
} as const;

type AdamUniform = keyof typeof UNIFORMS;

const ONE_GRADIENT = { weights: 'write', gradients: 'read', first: 'write', second: 'write' } as const;

function spec(twoGradients: boolean): KernelSpec<string, AdamUniform> {
  return {
    label: 'adam',
    uniforms: UNIFORMS,
    // A second gradient of the same weights, added to the first (the discriminator's update: fake and real pairs).
    storage: twoGradients ? { ...ONE_GRADIENT, gradients2: 'read' } : ONE_GRADIENT,
    entryPoints: ['main'],
    code: /* wgsl */ `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${WORKGROUP}u;
  if (i >= s.count) { return; }
  let grad = ${twoGradients ? 'gradients[i] + gradients2[i]' : 'gradients[i]'};
  let m = first[i] * s.beta1 + grad * s.oneMinusBeta1;
  let v = second[i] * s.beta2 + grad * grad * s.oneMinusBeta2;
  first[i] = m;
  second[i] = v;
  weights[i] = (m / s.correction1) / (sqrt(v / s.correction2) + s.epsilon) * -s.lr + weights[i];
}
`,
  };
}

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
  private readonly kernel: KernelInstance<string, AdamUniform>;
  /** tfjs's running products beta^t, in float32 as tfjs keeps them. */
  private readonly products = new Float32Array(2);

  constructor(
    private readonly device: GPUDevice,
    private readonly settings: AdamSettings,
    readonly count: number,
    twoGradients = false,
  ) {
    this.products.set([settings.beta1, settings.beta2]);
    this.kernel = new KernelInstance(device, spec(twoGradients), this.uniforms());
  }

  /**
   * Binds the network's arenas: weights, gradients (and the second arena of a kernel built for two), first and
   * second moments (zeros at the start of a run).
   */
  bind({ gradients2, ...arenas }: AdamArenas): void {
    this.kernel.bind(gradients2 ? { ...arenas, gradients2 } : arenas);
  }

  /** Writes this step's bias corrections (before the step's submit), then advances tfjs's running products. */
  setStep(): void {
    this.kernel.uniforms.write(this.uniforms());
    this.products[0] *= this.settings.beta1;
    this.products[1] *= this.settings.beta2;
  }

  /** Resumes tfjs's running products (after a checkpoint's `iterations` updates: beta^(iterations + 1)). */
  restore(products: { beta1Power: number; beta2Power: number }): void {
    this.products.set([products.beta1Power, products.beta2Power]);
  }

  record(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, 'main', ...elementGroups(this.device, this.count, WORKGROUP));
  }

  /** The uniforms of the next step: the settings, and the bias corrections 1 - beta^t of tfjs's running products. */
  private uniforms(): UniformValues<AdamUniform> {
    const { lr, beta1, beta2, epsilon } = this.settings;
    const [correction1, correction2] = [1 - this.products[0], 1 - this.products[1]];
    const [oneMinusBeta1, oneMinusBeta2] = [1 - beta1, 1 - beta2];
    return { lr, beta1, beta2, epsilon, oneMinusBeta1, oneMinusBeta2, correction1, correction2, count: this.count };
  }
}
