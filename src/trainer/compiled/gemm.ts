/// <reference types="@webgpu/types" />
// The one tiled matrix product of the compiled WebGPU step: out (M x N) = A (M x K) times B (K x N), where A and
// B are not arrays but WGSL functions that gather their elements (an implicit GEMM). A convolution, its input
// gradient and its filter gradient are the same product over different gathers, so each is a few lines of WGSL
// on top of this loop. A workgroup of up to 256 threads computes a tile of `out` shaped to the product (`chooseTile`),
// each thread a block of it in registers; A and B come through workgroup memory.
//
// Shapes never change during a run: the pipeline, the uniform block and the bind group are made once and a step
// only records the dispatch.

import {
  elementGroups,
  KernelInstance,
  type BufferSet,
  type KernelSpec,
  type StorageLayout,
  type UniformValues,
} from './layout';

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

export type TileShape = Omit<Tile, 'tk'>;

const TILES: TileShape[] = [
  { wm: 16, wn: 16, rm: 4, rn: 4 }, // 64 x 64
  { wm: 32, wn: 8, rm: 4, rn: 4 }, // 128 x 32
  { wm: 8, wn: 32, rm: 4, rn: 4 }, // 32 x 128
  { wm: 64, wn: 4, rm: 2, rn: 4 }, // 128 x 16
  { wm: 4, wn: 64, rm: 4, rn: 2 }, // 16 x 128
  { wm: 16, wn: 16, rm: 2, rn: 2 }, // 32 x 32
  { wm: 256, wn: 1, rm: 1, rn: 4 }, // 256 x 4
  { wm: 64, wn: 1, rm: 1, rn: 4 }, // 64 x 4
  { wm: 1, wn: 64, rm: 4, rn: 1 }, // 4 x 64
];

/**
 * The tile with the least work for a product: the padded output area, weighted by the loads per multiply-add of a
 * thread's block (a 4x4 block loads 8 values for 16 of them, a 1x4 block 5 for 4).
 */
function chooseTile(dims: { m: number; n: number }): TileShape {
  const cost = (t: TileShape) => {
    const [tm, tn] = [t.wm * t.rm, t.wn * t.rn];
    const area = Math.ceil(dims.m / tm) * tm * Math.ceil(dims.n / tn) * tn;
    return area * (1 + 1 / t.rm + 1 / t.rn);
  };
  return TILES.reduce((best, t) => (cost(t) < cost(best) ? t : best));
}

/**
 * The tile with the deepest K step that fits the device's workgroup memory (up to 64): each step costs two
 * barriers, which a software adapter pays dearly (lavapipe switches every invocation's context at a barrier).
 */
function withDepth(t: TileShape, bytes: number): Tile {
  const floats = t.wm * t.rm + t.wn * t.rn;
  let tk = 64;
  // Each k-step's shared reduction data is computed by one thread per index: at most one per thread.
  while (tk > 8 && (floats * tk * 4 + tk * 32 > bytes || tk > t.wm * t.wn)) tk /= 2;
  return { ...t, tk };
}

/** A product's gathers: WGSL that reads the uniforms `s` and the storage bindings by name. */
export interface GemmSource<N extends string = string> {
  label: string;
  /** The storage the gathers read and `store` writes. */
  storage: StorageLayout<N>;
  /**
   * The gathers, split by what each part depends on, so that index arithmetic (divisions, mostly) runs once per
   * row, column or reduction index instead of once per element:
   *   `struct Row` and `fn row(m: u32) -> Row`    what A's elements of row m share (once per thread and tile)
   *   `struct Red` and `fn red(k: u32) -> Red`    what A's and B's elements of reduction index k share (once
   *                                               per workgroup and k, in workgroup memory)
   *   `struct Col` and `fn col(n: u32) -> Col`    what B's elements of column n share
   *   `fn a(r: Row, k: Red) -> f32`, `fn b(k: Red, c: Col) -> f32` and `fn store(m: u32, n: u32, v: f32)`.
   */
  functions: string;
}

/** How the K dimension is cut: `splits` workgroups along z, each over `chunk` of K (one when the grid is full). */
interface SplitK {
  splits: number;
  chunk: number;
}

/** The WGSL after the declarations: the gathers, the product's loop and, split along K, the sum of the splits. */
function wgsl(src: GemmSource, t: Tile, split: SplitK, unrolled: boolean): string {
  const [tm, tn] = [t.wm * t.rm, t.wn * t.rn];
  const threads = t.wm * t.wn;
  if (threads % tm || threads % tn) throw new Error(`gemm: a ${tm}x${tn} tile needs ${threads} threads to divide both`);
  const output = split.splits === 1 ? 'store(m, n, acc[i][j]);' : 'partial[(group.z * s.m + m) * s.n + n] = acc[i][j];';
  return /* wgsl */ `
${src.functions}

${mainWgsl(t, split, output, unrolled)}
${split.splits > 1 ? reduceWgsl(split.splits) : ''}
`;
}

/** The product's loop: tiles of A and B through workgroup memory, each thread's block of `out` in registers. */
function mainWgsl(t: Tile, split: SplitK, output: string, unrolled: boolean): string {
  const [tm, tn] = [t.wm * t.rm, t.wn * t.rn];
  const threads = t.wm * t.wn;
  // The last k-step of a K that tk does not divide holds zeros past kEnd: a bounded loop skips them.
  const depth = unrolled ? `${t.tk}u` : `min(${t.tk}u, kEnd - k0)`;
  return /* wgsl */ `
var<workgroup> tileA: array<f32, ${t.tk * tm}>;
var<workgroup> tileB: array<f32, ${t.tk * tn}>;
var<workgroup> reds: array<Red, ${t.tk}>;

@compute @workgroup_size(${t.wn}, ${t.wm})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) index: u32) {
  let m0 = group.x * ${tm}u;
  let n0 = group.y * ${tn}u;
  let kBegin = group.z * ${split.chunk}u;
  let kEnd = min(s.k, kBegin + ${split.chunk}u);
  // Each thread loads one row of A's tile and one column of B's (the thread count is a multiple of both).
  let am = index % ${tm}u;
  let bn = index % ${tn}u;
  let aRow = row(m0 + am);
  let bCol = col(n0 + bn);
  let aIn = m0 + am < s.m;
  let bIn = n0 + bn < s.n;
  var acc: array<array<f32, ${t.rn}>, ${t.rm}>;
  // What the next k-step's loads share is computed while the previous step multiplies (after its loads are done):
  // two barriers per k-step.
  if (index < ${t.tk}u) { reds[index] = red(kBegin + index); }
  workgroupBarrier();
  for (var k0 = kBegin; k0 < kEnd; k0 += ${t.tk}u) {
    for (var r = index / ${tm}u; r < ${t.tk}u; r += ${threads / tm}u) {
      tileA[r * ${tm}u + am] = select(0.0, a(aRow, reds[r]), aIn && k0 + r < kEnd);
    }
    for (var r = index / ${tn}u; r < ${t.tk}u; r += ${threads / tn}u) {
      tileB[r * ${tn}u + bn] = select(0.0, b(reds[r], bCol), bIn && k0 + r < kEnd);
    }
    workgroupBarrier();
    if (index < ${t.tk}u) { reds[index] = red(k0 + ${t.tk}u + index); }
    for (var k = 0u; k < ${depth}; k++) {
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
      if (m < s.m && n < s.n) { ${output} }
    }
  }
}
`;
}

/** The split-K sum: one thread per output, adding the splits' partial products in order, then `store`. */
function reduceWgsl(splits: number): string {
  return /* wgsl */ `
@compute @workgroup_size(256)
fn reduce(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let i = id.x + id.y * groups.x * 256u;
  if (i >= s.m * s.n) { return; }
  var sum = 0.0;
  for (var z = 0u; z < ${splits}u; z++) { sum += partial[z * s.m * s.n + i]; }
  store(i / s.n, i % s.n, sum);
}
`;
}

/** How a product fills the device. */
export interface GemmOptions {
  /**
   * The workgroups the device runs at once, roughly (a GPU's compute units times a few; 1 for a software adapter,
   * whose threads are the CPU's cores): a product whose grid has fewer tiles is split along K to fill the device.
   */
  parallelism: number;
  /**
   * Whether a k-step's inner loop runs a constant tk times, which a compiler unrolls (absent: true): what the trainer
   * runs on every adapter. False loops to a bound known at run time, for lavapipe at WebGPU's default limits: there
   * LLVM unrolls a large tile's 16-deep k-step whole and compiles it several times slower (the 64x64 PatchGAN's
   * step: 238 s against 72 s; at lavapipe's own limits the k-step is 32 deep, which it does not unroll: 51 s).
   */
  unrolled?: boolean;
}

/** Never split along K. */
export const UNSPLIT: GemmOptions = { parallelism: 1 };

const MIN_CHUNK = 256;

/** The split of K for a product: enough splits to fill the device, each partial product in one binding of `bytes`. */
function splitK(dims: { m: number; n: number; k: number }, t: Tile, parallelism: number, bytes: number): SplitK {
  const groups = Math.ceil(dims.m / (t.wm * t.rm)) * Math.ceil(dims.n / (t.wn * t.rn));
  const fit = Math.floor(bytes / (dims.m * dims.n * 4));
  const splits = Math.max(1, Math.min(Math.ceil(parallelism / groups), Math.floor(dims.k / MIN_CHUNK), 64, fit));
  if (splits === 1) return { splits, chunk: Math.max(dims.k, 1) };
  const chunk = Math.ceil(dims.k / splits / t.tk) * t.tk;
  return { splits: Math.ceil(dims.k / chunk), chunk };
}

/**
 * The shader with its shape written in as constants (`s.height` becomes `32u`): a step's shapes never change, and
 * the compiler then turns the gathers' divisions by them into multiplications and shifts. The uniform block stays
 * bound (and tells a reader the values), but the code no longer reads it.
 */
function baked(code: string, values: UniformValues): string {
  return Object.entries(values).reduce(
    (c, [f, v]) => c.replace(new RegExp(`\\bs\\.${f}\\b`, 'g'), `${v >>> 0}u`),
    code,
  );
}

/** What the step records: bound once, by name, recorded every step. */
export interface Kernel<N extends string = string> {
  bind(buffers: BufferSet<N>): void;
  record(pass: GPUComputePassEncoder): void;
}

/** Several products over the same bindings, recorded one after the other. */
export class GemmGroup<N extends string = string> implements Kernel<N> {
  constructor(readonly parts: Gemm<N>[]) {}

  bind(buffers: BufferSet<N>): void {
    for (const p of this.parts) p.bind(buffers);
  }

  record(pass: GPUComputePassEncoder): void {
    for (const p of this.parts) p.record(pass);
  }
}

/**
 * One product of `source`'s gathers at `dims`, its uniforms `m`, `n`, `k` and then `uniforms` (u32 fields the
 * gathers read as `s.<name>`, in the order given). Split along K it binds a scratch buffer of its own, `partial`.
 */
export class Gemm<N extends string = string> implements Kernel<N> {
  private readonly kernel: KernelInstance;
  readonly tile: Tile;
  readonly split: SplitK;
  private readonly partial: GPUBuffer | undefined;

  constructor(
    private readonly device: GPUDevice,
    source: GemmSource<N>,
    readonly dims: { m: number; n: number; k: number },
    uniforms: UniformValues,
    options: GemmOptions = UNSPLIT,
  ) {
    this.tile = withDepth(chooseTile(dims), device.limits.maxComputeWorkgroupStorageSize);
    const { maxStorageBufferBindingSize, maxBufferSize } = device.limits;
    this.split = splitK(dims, this.tile, options.parallelism, Math.min(maxStorageBufferBindingSize, maxBufferSize));
    const values: UniformValues = { m: dims.m, n: dims.n, k: dims.k, ...uniforms };
    const split = this.split.splits > 1;
    if (split) {
      const size = this.split.splits * dims.m * dims.n * 4;
      this.partial = device.createBuffer({ size, usage: GPUBufferUsage.STORAGE });
    }
    const spec: KernelSpec = {
      label: source.label,
      uniforms: Object.fromEntries(Object.keys(values).map((f) => [f, 'u32'])),
      storage: split ? { ...source.storage, partial: 'write' } : source.storage,
      code: baked(wgsl(source, this.tile, this.split, options.unrolled ?? true), values),
      entryPoints: split ? ['main', 'reduce'] : ['main'],
    };
    this.kernel = new KernelInstance(device, spec, values);
  }

  /** Binds the run's buffers (or ranges of them) to the source's storage bindings, by name, once. */
  bind(buffers: BufferSet<N>): void {
    this.kernel.bind(this.partial ? { ...buffers, partial: this.partial } : buffers);
  }

  /** Records the dispatch (and the sum of the splits) into a pass of the step's command encoder. */
  record(pass: GPUComputePassEncoder): void {
    const { wm, wn, rm, rn } = this.tile;
    const { splits } = this.split;
    this.kernel.dispatch(pass, 'main', Math.ceil(this.dims.m / (wm * rm)), Math.ceil(this.dims.n / (wn * rn)), splits);
    if (splits > 1) this.kernel.dispatch(pass, 'reduce', ...elementGroups(this.device, this.dims.m * this.dims.n, 256));
  }
}
