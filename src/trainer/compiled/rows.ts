/// <reference types="@webgpu/types" />
// Small kernels between the big ones: the softmax of the discriminator's per-patch Dense (`disc_dense`) over each
// row, forward and backward, and the sum of two gradients of one tensor (a U-Net encoder level feeds both the next
// level and a skip; each consumer's input gradient writes its own buffer, and this adds the skip's into the other's).
//   softmax forward   q = exp(z - max z) / sum exp(z - max z)              one thread per row
//   softmax backward  dz = q * (dq - sum(dq * q))                         one thread per row
//   add               a += b                                              one thread per element

import { bindGroup, elementGroups, program, uniformBlock, type Binding, type Program } from './layout';

const THREADS = 256;

const SOFTMAX_WGSL = /* wgsl */ `
struct Shape { rows: u32, units: u32 }
@group(0) @binding(0) var<uniform> s: Shape;
@group(0) @binding(1) var<storage, read> z: array<f32>;
@group(0) @binding(2) var<storage, read_write> q: array<f32>;
@group(0) @binding(3) var<storage, read> dq: array<f32>;
@group(0) @binding(4) var<storage, read_write> dz: array<f32>;

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
`;

/** Softmax over rows of `units`. Bindings: z (logits), q (probabilities), dq, dz. */
export class RowSoftmax {
  private readonly program: Program;
  private readonly uniforms: GPUBuffer;
  private group: GPUBindGroup | undefined;

  constructor(
    private readonly device: GPUDevice,
    readonly shape: { rows: number; units: number },
  ) {
    this.uniforms = uniformBlock(device, [shape.rows, shape.units]);
    const spec = { label: 'row softmax', code: SOFTMAX_WGSL, entryPoints: ['forward', 'backward'] };
    this.program = program(device, { ...spec, uniform: [0], read: [1, 3], write: [2, 4] });
  }

  bind(b: { z: Binding; q: Binding; dq: Binding; dz: Binding }): void {
    this.group = bindGroup(this.device, this.program.layout, [this.uniforms, b.z, b.q, b.dq, b.dz]);
  }

  recordForward(pass: GPUComputePassEncoder): void {
    this.dispatch(pass, 'forward');
  }

  recordBackward(pass: GPUComputePassEncoder): void {
    this.dispatch(pass, 'backward');
  }

  private dispatch(pass: GPUComputePassEncoder, entry: 'forward' | 'backward'): void {
    if (!this.group) throw new Error('row softmax: bind() its buffers before recording');
    pass.setPipeline(this.program.pipelines[entry]);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(...elementGroups(this.device, this.shape.rows, THREADS));
  }
}

const ADD_WGSL = /* wgsl */ `
struct Shape { count: u32 }
@group(0) @binding(0) var<uniform> s: Shape;
@group(0) @binding(1) var<storage, read_write> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;

@compute @workgroup_size(${THREADS})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * ${THREADS}u;
  if (i < s.count) { a[i] = a[i] + b[i]; }
}
`;

/** a += b over `count` floats. */
export class AddInto {
  private readonly group: GPUBindGroup;
  private readonly pipeline: GPUComputePipeline;

  constructor(
    private readonly device: GPUDevice,
    readonly count: number,
    a: Binding,
    b: Binding,
  ) {
    const p = program(device, {
      label: 'add',
      code: ADD_WGSL,
      entryPoints: ['main'],
      uniform: [0],
      read: [2],
      write: [1],
    });
    this.pipeline = p.pipelines.main;
    this.group = bindGroup(device, p.layout, [uniformBlock(device, [count]), a, b]);
  }

  record(pass: GPUComputePassEncoder): void {
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.group);
    pass.dispatchWorkgroups(...elementGroups(this.device, this.count, THREADS));
  }
}
