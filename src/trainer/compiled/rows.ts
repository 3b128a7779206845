/// <reference types="@webgpu/types" />
// Small kernels between the big ones: the softmax of the discriminator's per-patch Dense (`disc_dense`) over each
// row, forward and backward, and the sum of two gradients of one tensor (a U-Net encoder level feeds both the next
// level and a skip; each consumer's input gradient writes its own buffer, and this adds the skip's into the other's).
//   softmax forward   q = exp(z - max z) / sum exp(z - max z)              one thread per row
//   softmax backward  dz = q * (dq - sum(dq * q))                         one thread per row
//   add               a += b                                              one thread per element

import { elementGroups, KernelInstance, type BufferSet, type KernelSpec } from './layout';

const THREADS = 256;

type SoftmaxBinding = 'z' | 'q' | 'dq' | 'dz';

const SOFTMAX: KernelSpec<SoftmaxBinding, 'rows' | 'units'> = {
  label: 'row softmax',
  uniforms: { rows: 'u32', units: 'u32' },
  storage: { z: 'read', q: 'write', dq: 'read', dz: 'write' },
  entryPoints: ['forward', 'backward'],
  code: /* wgsl */ `
fn row(id: vec3u, groups: vec3u) -> u32 { return id.x + id.y * groups.x * ${THREADS}u; }

@compute @workgroup_size(${THREADS})
fn forward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row(id, groups);
  if (r >= s.rows) { return; }
  let base = r * s.units;
  var top = z[base];
  for (var u = 1u; u < s.units; u++) { top = max(top, z[base + u]); }
  var sum = 0.0;
  for (var u = 0u; u < s.units; u++) { sum += exp(z[base + u] - top); }
  for (var u = 0u; u < s.units; u++) { q[base + u] = exp(z[base + u] - top) / sum; }
}

@compute @workgroup_size(${THREADS})
fn backward(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let r = row(id, groups);
  if (r >= s.rows) { return; }
  let base = r * s.units;
  var dot = 0.0;
  for (var u = 0u; u < s.units; u++) { dot += dq[base + u] * q[base + u]; }
  for (var u = 0u; u < s.units; u++) { dz[base + u] = q[base + u] * (dq[base + u] - dot); }
}
`,
};

/** Softmax over rows of `units`. Bindings: z (logits), q (probabilities), dq, dz. */
export class RowSoftmax {
  private readonly kernel: KernelInstance<SoftmaxBinding>;

  constructor(
    private readonly device: GPUDevice,
    readonly shape: { rows: number; units: number },
  ) {
    this.kernel = new KernelInstance(device, SOFTMAX, { rows: shape.rows, units: shape.units });
  }

  bind(buffers: BufferSet<SoftmaxBinding>): void {
    this.kernel.bind(buffers);
  }

  recordForward(pass: GPUComputePassEncoder): void {
    this.dispatch(pass, 'forward');
  }

  recordBackward(pass: GPUComputePassEncoder): void {
    this.dispatch(pass, 'backward');
  }

  private dispatch(pass: GPUComputePassEncoder, entry: 'forward' | 'backward'): void {
    this.kernel.dispatch(pass, entry, ...elementGroups(this.device, this.shape.rows, THREADS));
  }
}

const ADD: KernelSpec<'a' | 'b', 'count'> = {
  label: 'add',
  uniforms: { count: 'u32' },
  storage: { a: 'write', b: 'read' },
  entryPoints: ['main'],
  code: /* wgsl */ `
@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${THREADS}u;
  if (i < s.count) { a[i] = a[i] + b[i]; }
}
`,
};

/** a += b over `count` floats. */
export class AddInto {
  private readonly kernel: KernelInstance<'a' | 'b'>;

  constructor(
    private readonly device: GPUDevice,
    readonly count: number,
    buffers: BufferSet<'a' | 'b'>,
  ) {
    this.kernel = new KernelInstance(device, ADD, { count });
    this.kernel.bind(buffers);
  }

  record(pass: GPUComputePassEncoder): void {
    this.kernel.dispatch(pass, 'main', ...elementGroups(this.device, this.count, THREADS));
  }
}
