/// <reference types="@webgpu/types" />
// The one tiled matrix product of the compiled WebGPU step: out (M x N) = A (M x K) times B (K x N), where A and
// B are not arrays but WGSL functions that gather their elements (an implicit GEMM). A convolution, its input
// gradient and its filter gradient are the same product over different gathers, so each is a few lines of WGSL
// on top of this loop. A 16x16 workgroup computes a 64x64 tile of `out`, each thread a 4x4 block in registers;
// A and B come through workgroup memory 16 along K at a time.
//
// Shapes never change during a run: the pipeline, the uniform block and the bind group are made once and a step
// only records the dispatch.

const TILE = 64;
const TILE_K = 16;
const THREADS = 256;

/** A product's gathers: WGSL that reads the uniforms `s` (of `fields`) and the bindings from 1 on. */
export interface GemmSource {
  label: string;
  /** u32 uniforms, in order; `m`, `n` and `k` (the product's dimensions) are added first. */
  fields: string[];
  /** Storage bindings from 1 on: `name` and whether the kernel writes it. */
  bindings: { name: string; write?: boolean }[];
  /** `fn a(m: u32, k: u32) -> f32`, `fn b(k: u32, n: u32) -> f32` and `fn store(m: u32, n: u32, v: f32)`. */
  functions: string;
}

function wgsl(src: GemmSource): string {
  const fields = ['m', 'n', 'k', ...src.fields].map((f) => `${f}: u32,`).join(' ');
  const bindings = src.bindings
    .map(
      (b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<f32>;`,
    )
    .join('\n');
  return /* wgsl */ `
struct Shape { ${fields} }
@group(0) @binding(0) var<uniform> s: Shape;
${bindings}
${src.functions}

var<workgroup> tileA: array<array<f32, ${TILE}>, ${TILE_K}>;
var<workgroup> tileB: array<array<f32, ${TILE}>, ${TILE_K}>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) index: u32) {
  let m0 = group.x * ${TILE}u;
  let n0 = group.y * ${TILE}u;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < s.k; k0 += ${TILE_K}u) {
    for (var i = 0u; i < ${(TILE * TILE_K) / THREADS}u; i++) {
      let e = index + i * ${THREADS}u;
      let row = e / ${TILE}u;
      let col = e % ${TILE}u;
      let k = k0 + row;
      tileA[row][col] = select(0.0, a(m0 + col, k), m0 + col < s.m && k < s.k);
      tileB[row][col] = select(0.0, b(k, n0 + col), n0 + col < s.n && k < s.k);
    }
    workgroupBarrier();
    for (var k = 0u; k < ${TILE_K}u; k++) {
      var av: array<f32, 4>;
      var bv: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        av[i] = tileA[k][local.y * 4u + i];
        bv[i] = tileB[k][local.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    for (var j = 0u; j < 4u; j++) {
      let m = m0 + local.y * 4u + i;
      let n = n0 + local.x * 4u + j;
      if (m < s.m && n < s.n) { store(m, n, acc[i][j]); }
    }
  }
}
`;
}

export class Gemm {
  private readonly pipeline: GPUComputePipeline;
  private readonly uniforms: GPUBuffer;
  private bindGroup: GPUBindGroup | undefined;

  constructor(
    private readonly device: GPUDevice,
    private readonly source: GemmSource,
    readonly dims: { m: number; n: number; k: number },
    values: number[],
  ) {
    if (values.length !== source.fields.length) throw new Error(`${source.label}: ${source.fields.length} uniforms`);
    const all = [dims.m, dims.n, dims.k, ...values];
    const size = Math.ceil((all.length * 4) / 16) * 16;
    this.uniforms = device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(this.uniforms.getMappedRange()).set(all);
    this.uniforms.unmap();
    const module = device.createShaderModule({ code: wgsl(source), label: source.label });
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  }

  /** Binds the run's buffers, in the order of the source's bindings, once. */
  bind(buffers: GPUBuffer[]): void {
    if (buffers.length !== this.source.bindings.length) throw new Error(`${this.source.label}: wrong buffer count`);
    const entries = [this.uniforms, ...buffers].map((buffer, binding) => ({ binding, resource: { buffer } }));
    this.bindGroup = this.device.createBindGroup({ layout: this.pipeline.getBindGroupLayout(0), entries });
  }

  /** Records the dispatch into a pass of the step's command encoder. */
  record(pass: GPUComputePassEncoder): void {
    if (!this.bindGroup) throw new Error(`${this.source.label}: bind() its buffers before recording`);
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(Math.ceil(this.dims.m / TILE), Math.ceil(this.dims.n / TILE));
  }
}
