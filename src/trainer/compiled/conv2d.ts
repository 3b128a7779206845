/// <reference types="@webgpu/types" />
// The convolution of the compiled WebGPU step: Keras's Conv2D (NHWC input, HWIO kernel, 'same' padding, bias) as
// an implicit GEMM. The output is a (pixels x output channels) matrix, the product of the input's patches
// (pixels x kernel taps x input channels, never materialised: gathered into workgroup memory tile by tile) and the
// kernel. A 16x16 workgroup computes a 64x64 output tile, each thread a 4x4 block in registers.
//
// Shapes never change during a run, so the pipeline, the uniform block and the bind group are made once and a
// step only records the dispatch.

export interface Conv2dShape {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
}

/** TensorFlow's 'same' padding: the output is ceil(size / stride), the padding split with the odd pixel after. */
export function samePadding(size: number, kernel: number, stride: number): { out: number; before: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, before: Math.floor(total / 2) };
}

const TILE_M = 64;
const TILE_N = 64;
const TILE_K = 16;
const THREADS = 256;

const WGSL = /* wgsl */ `
struct Shape {
  batch: u32, height: u32, width: u32, inChannels: u32,
  outHeight: u32, outWidth: u32, outChannels: u32, kernel: u32,
  stride: u32, padTop: u32, padLeft: u32, taps: u32,
}
@group(0) @binding(0) var<uniform> s: Shape;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> y: array<f32>;

const TM = ${TILE_M}u;
const TN = ${TILE_N}u;
const TK = ${TILE_K}u;
var<workgroup> patches: array<array<f32, TM>, TK>;
var<workgroup> weights: array<array<f32, TN>, TK>;

// Element (pixel m, tap k) of the patch matrix: zero outside the image (the padding) and past the edges.
fn patchAt(m: u32, k: u32) -> f32 {
  let pixels = s.batch * s.outHeight * s.outWidth;
  if (m >= pixels || k >= s.taps) { return 0.0; }
  let c = k % s.inChannels;
  let tap = k / s.inChannels;
  let kx = tap % s.kernel;
  let ky = tap / s.kernel;
  let ox = m % s.outWidth;
  let rest = m / s.outWidth;
  let oy = rest % s.outHeight;
  let n = rest / s.outHeight;
  let iy = i32(oy * s.stride + ky) - i32(s.padTop);
  let ix = i32(ox * s.stride + kx) - i32(s.padLeft);
  if (iy < 0 || ix < 0 || iy >= i32(s.height) || ix >= i32(s.width)) { return 0.0; }
  return x[((n * s.height + u32(iy)) * s.width + u32(ix)) * s.inChannels + c];
}

fn weightAt(k: u32, n: u32) -> f32 {
  if (k >= s.taps || n >= s.outChannels) { return 0.0; }
  return w[k * s.outChannels + n];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_id) local: vec3u,
        @builtin(local_invocation_index) index: u32) {
  let m0 = group.x * TM;
  let n0 = group.y * TN;
  var acc: array<array<f32, 4>, 4>;
  for (var k0 = 0u; k0 < s.taps; k0 += TK) {
    for (var i = 0u; i < TM * TK / ${THREADS}u; i++) {
      let e = index + i * ${THREADS}u;
      patches[e / TM][e % TM] = patchAt(m0 + e % TM, k0 + e / TM);
      weights[e / TN][e % TN] = weightAt(k0 + e / TN, n0 + e % TN);
    }
    workgroupBarrier();
    for (var k = 0u; k < TK; k++) {
      var a: array<f32, 4>;
      var b: array<f32, 4>;
      for (var i = 0u; i < 4u; i++) {
        a[i] = patches[k][local.y * 4u + i];
        b[i] = weights[k][local.x * 4u + i];
      }
      for (var i = 0u; i < 4u; i++) {
        for (var j = 0u; j < 4u; j++) { acc[i][j] = fma(a[i], b[j], acc[i][j]); }
      }
    }
    workgroupBarrier();
  }
  let pixels = s.batch * s.outHeight * s.outWidth;
  for (var i = 0u; i < 4u; i++) {
    let m = m0 + local.y * 4u + i;
    if (m >= pixels) { continue; }
    for (var j = 0u; j < 4u; j++) {
      let n = n0 + local.x * 4u + j;
      if (n < s.outChannels) { y[m * s.outChannels + n] = acc[i][j] + bias[n]; }
    }
  }
}
`;

/** Byte size of a float32 array of `n` elements. */
const f32Bytes = (n: number) => n * 4;

export class Conv2dForward {
  readonly outHeight: number;
  readonly outWidth: number;
  private readonly pipeline: GPUComputePipeline;
  private readonly uniforms: GPUBuffer;
  private bindGroup: GPUBindGroup | undefined;

  constructor(
    private readonly device: GPUDevice,
    readonly shape: Conv2dShape,
  ) {
    const rows = samePadding(shape.height, shape.kernel, shape.stride);
    const cols = samePadding(shape.width, shape.kernel, shape.stride);
    this.outHeight = rows.out;
    this.outWidth = cols.out;
    const taps = shape.kernel * shape.kernel * shape.inChannels;
    const values = [shape.batch, shape.height, shape.width, shape.inChannels, rows.out, cols.out];
    values.push(shape.outChannels, shape.kernel, shape.stride, rows.before, cols.before, taps);
    this.uniforms = device.createBuffer({
      size: f32Bytes(values.length),
      usage: GPUBufferUsage.UNIFORM,
      mappedAtCreation: true,
    });
    new Uint32Array(this.uniforms.getMappedRange()).set(values);
    this.uniforms.unmap();
    const module = device.createShaderModule({ code: WGSL, label: 'conv2d forward' });
    this.pipeline = device.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  }

  /** Floats in the input, kernel, bias and output buffers. */
  get sizes(): { x: number; w: number; bias: number; y: number } {
    const s = this.shape;
    return {
      x: s.batch * s.height * s.width * s.inChannels,
      w: s.kernel * s.kernel * s.inChannels * s.outChannels,
      bias: s.outChannels,
      y: s.batch * this.outHeight * this.outWidth * s.outChannels,
    };
  }

  /** Binds the buffers it reads and writes, once: the buffers are the run's, allocated when it starts. */
  bind(buffers: { x: GPUBuffer; w: GPUBuffer; bias: GPUBuffer; y: GPUBuffer }): void {
    const entries = [this.uniforms, buffers.x, buffers.w, buffers.bias, buffers.y].map((buffer, binding) => ({
      binding,
      resource: { buffer },
    }));
    this.bindGroup = this.device.createBindGroup({ layout: this.pipeline.getBindGroupLayout(0), entries });
  }

  /** Records the dispatch into a pass of the step's command encoder. */
  record(pass: GPUComputePassEncoder): void {
    if (!this.bindGroup) throw new Error('conv2d: bind() its buffers before recording');
    const pixels = this.shape.batch * this.outHeight * this.outWidth;
    pass.setPipeline(this.pipeline);
    pass.setBindGroup(0, this.bindGroup);
    pass.dispatchWorkgroups(Math.ceil(pixels / TILE_M), Math.ceil(this.shape.outChannels / TILE_N));
  }
}
