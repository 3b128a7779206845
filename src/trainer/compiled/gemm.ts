/// <reference types="@webgpu/types" />
// The one tiled matrix product of the compiled WebGPU step: out (M x N) = A (M x K) times B (K x N), where A and
// B are not arrays but WGSL functions that gather their elements (an implicit GEMM). A convolution, its input
// gradient and its filter gradient are the same product over different gathers, so each is a few lines of WGSL
// on top of this loop. A workgroup of up to 256 threads computes a tile of `out` shaped to the product (`chooseTile`),
// each thread a block of it in registers; A and B come through workgroup memory.
//
// Shapes never change during a run: the pipeline, the uniform block and the bind group are made once and a step
// only records the dispatch.

import { bindGroup, program, uniformBlock, type Binding, type Program } from './layout';

/**
 * A workgroup's share of the product: wm x wn threads, each computing rm x rn outputs in registers, so a tile of
 * (wm * rm) x (wn * rn); A and B come through workgroup memory tk along K at a time. The shape follows the
 * product's: a convolution with 3 output channels would leave 61 of 64 columns of a square tile idle.
 */
export interface Tile {
  wm: number;
  wn: number;
  rm: number;
  rn: number;
  tk: number;
}

const TILES: Tile[] = [
  { wm: 16, wn: 16, rm: 4, rn: 4, tk: 16 }, // 64 x 64
  { wm: 32, wn: 8, rm: 4, rn: 4, tk: 16 }, // 128 x 32
  { wm: 8, wn: 32, rm: 4, rn: 4, tk: 16 }, // 32 x 128
  { wm: 64, wn: 4, rm: 2, rn: 4, tk: 16 }, // 128 x 16
  { wm: 4, wn: 64, rm: 4, rn: 2, tk: 16 }, // 16 x 128
  { wm: 16, wn: 16, rm: 2, rn: 2, tk: 16 }, // 32 x 32
  { wm: 256, wn: 1, rm: 1, rn: 4, tk: 8 }, // 256 x 4
  { wm: 64, wn: 1, rm: 1, rn: 4, tk: 16 }, // 64 x 4
  { wm: 1, wn: 64, rm: 4, rn: 1, tk: 16 }, // 4 x 64
];

/**
 * The tile with the least work for a product: the padded output area, weighted by the loads per multiply-add of a
 * thread's block (a 4x4 block loads 8 values for 16 of them, a 1x4 block 5 for 4).
 */
export function chooseTile(dims: { m: number; n: number }): Tile {
  const cost = (t: Tile) => {
    const [tm, tn] = [t.wm * t.rm, t.wn * t.rn];
    const area = Math.ceil(dims.m / tm) * tm * Math.ceil(dims.n / tn) * tn;
    return area * (1 + 1 / t.rm + 1 / t.rn);
  };
  return TILES.reduce((best, t) => (cost(t) < cost(best) ? t : best));
}

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

function wgsl(src: GemmSource, t: Tile): string {
  const fields = ['m', 'n', 'k', ...src.fields].map((f) => `${f}: u32,`).join(' ');
  const bindings = src.bindings
    .map(
      (b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.write ? 'read_write' : 'read'}> ${b.name}: array<f32>;`,
    )
    .join('\n');
  const [tm, tn] = [t.wm * t.rm, t.wn * t.rn];
  return /* wgsl */ `
struct Shape { ${fields} }
@group(0) @binding(0) var<uniform> s: Shape;
${bindings}
${src.functions}

// The tile's first row, for gathers whose B depends on which rows the tile holds (a strided input gradient).
var<private> firstRow: u32;
var<workgroup> tileA: array<f32, ${t.tk * tm}>;
var<workgroup> tileB: array<f32, ${t.tk * tn}>;

@compute @workgroup_size(${t.wn}, ${t.wm})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) index: u32) {
  let m0 = group.x * ${tm}u;
  let n0 = group.y * ${tn}u;
  firstRow = m0;
  var acc: array<array<f32, ${t.rn}>, ${t.rm}>;
  for (var k0 = 0u; k0 < s.k; k0 += ${t.tk}u) {
    for (var e = index; e < ${t.tk * tm}u; e += ${t.wm * t.wn}u) {
      let row = e / ${tm}u;
      let col = e % ${tm}u;
      let k = k0 + row;
      tileA[e] = select(0.0, a(m0 + col, k), m0 + col < s.m && k < s.k);
    }
    for (var e = index; e < ${t.tk * tn}u; e += ${t.wm * t.wn}u) {
      let row = e / ${tn}u;
      let col = e % ${tn}u;
      let k = k0 + row;
      tileB[e] = select(0.0, b(k, n0 + col), n0 + col < s.n && k < s.k);
    }
    workgroupBarrier();
    for (var k = 0u; k < ${t.tk}u; k++) {
      var av: array<f32, ${t.rm}>;
      var bv: array<f32, ${t.rn}>;
      for (var i = 0u; i < ${t.rm}u; i++) { av[i] = tileA[k * ${tm}u + local.y * ${t.rm}u + i]; }
      for (var j = 0u; j < ${t.rn}u; j++) { bv[j] = tileB[k * ${tn}u + local.x * ${t.rn}u + j]; }
      for (var i = 0u; i < ${t.rm}u; i++) {
        for (var j = 0u; j < ${t.rn}u; j++) { acc[i][j] = fma(av[i], bv[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < ${t.rm}u; i++) {
    for (var j = 0u; j < ${t.rn}u; j++) {
      let m = m0 + local.y * ${t.rm}u + i;
      let n = n0 + local.x * ${t.rn}u + j;
      if (m < s.m && n < s.n) { store(m, n, acc[i][j]); }
    }
  }
}
`;
}

export class Gemm {
  private readonly program: Program;
  private readonly uniforms: GPUBuffer;
  private bindGroup: GPUBindGroup | undefined;
  readonly tile: Tile;

  constructor(
    private readonly device: GPUDevice,
    private readonly source: GemmSource,
    readonly dims: { m: number; n: number; k: number },
    values: number[],
    tile?: Tile,
  ) {
    if (values.length !== source.fields.length) throw new Error(`${source.label}: ${source.fields.length} uniforms`);
    this.uniforms = uniformBlock(device, [dims.m, dims.n, dims.k, ...values]);
    this.tile = tile ?? chooseTile(dims);
    const numbered = source.bindings.map((b, i) => ({ ...b, binding: i + 1 }));
    this.program = program(device, {
      label: source.label,
      code: wgsl(source, this.tile),
      entryPoints: ['main'],
      uniform: [0],
      read: numbered.filter((b) => !b.write).map((b) => b.binding),
      write: numbered.filter((b) => b.write).map((b) => b.binding),
    });
  }

  /** Binds the run's buffers (or ranges of them), in the order of the source's bindings, once. */
  bind(buffers: Binding[]): void {
    if (buffers.length !== this.source.bindings.length) throw new Error(`${this.source.label}: wrong buffer count`);
    this.bindGroup = bindGroup(this.device, this.program.layout, [this.uniforms, ...buffers]);
  }

  /** Records the dispatch into a pass of the step's command encoder. */
  record(pass: GPUComputePassEncoder): void {
    if (!this.bindGroup) throw new Error(`${this.source.label}: bind() its buffers before recording`);
    pass.setPipeline(this.program.pipelines.main);
    pass.setBindGroup(0, this.bindGroup);
    const { wm, wn, rm, rn } = this.tile;
    pass.dispatchWorkgroups(Math.ceil(this.dims.m / (wm * rm)), Math.ceil(this.dims.n / (wn * rn)));
  }
}
