/// <reference types="@webgpu/types" />
// Keras's Conv2D in the compiled WebGPU step (NHWC input, HWIO kernel, 'same' padding, bias): the forward pass
// and both gradients, each one implicit GEMM (gemm.ts) over its own gathers.
//   forward          y  (pixels x out)        = patches (pixels x taps) times w (taps x out), plus the bias
//   input gradient   dx (source pixels x in)  = dy gathered (source pixels x block x kernel taps x out) times w
//   filter gradient  dw (taps x out)          = patches transposed (taps x pixels) times dy (pixels x out)
//   bias gradient    db (1 x out)             = ones (1 x pixels) times dy: one more row of the filter gradient
// A tap is (ky, kx, input channel), in the kernel's memory order.
//
// The U-Net decoder's convolution reads UpSampling2D(Activation(Concatenate([a, b]))). That input is never
// written: the gathers read a and b at the source pixel, apply the activation, and the input gradient sums over
// each source pixel's upsampled block and multiplies by the activation's slope, so it writes da and db directly.

import { activationWgsl, type Activation } from './activation';
import { chooseTile, Gemm, type GemmSource } from './gemm';

/** What the convolution reads: one tensor, a decoder level's upsampled, activated concatenation of two, or patches. */
export interface ConvInput {
  /** Channels of the first source; the rest come from the second (a skip). Absent: one source. */
  split?: number;
  /** Nearest upsampling factor applied to the sources (1: none). */
  upsample?: number;
  /**
   * The discriminator's patches: each image the convolution reads is one `height` x `width` tile of a source
   * image `across` tiles wide and high (its batch is the sources' times across squared).
   */
  tiles?: { across: number };
  /**
   * An activation between the sources and the upsampling: the decoder's ReLU after its concatenation, or the
   * encoder's LeakyReLU after the level above (the sources are then the pre-activation values, kept anyway).
   */
  activation?: Activation;
}

export interface Conv2dShape {
  batch: number;
  /** Height and width of what the convolution reads: the sources' times `input.upsample`. */
  height: number;
  width: number;
  inChannels: number;
  outChannels: number;
  kernel: number;
  stride: number;
  input?: ConvInput;
}

/** TensorFlow's 'same' padding: the output is ceil(size / stride), the padding split with the odd pixel after. */
export function samePadding(size: number, kernel: number, stride: number): { out: number; before: number } {
  const out = Math.ceil(size / stride);
  const total = Math.max((out - 1) * stride + kernel - size, 0);
  return { out, before: Math.floor(total / 2) };
}

/** The uniforms every convolution kernel reads, in the order of `ConvGeometry.uniforms`. */
const GEOMETRY = ['batch', 'height', 'width', 'inChannels', 'outHeight', 'outWidth', 'outChannels', 'kernel'];
GEOMETRY.push('stride', 'padTop', 'padLeft');

export interface ConvGeometry {
  shape: Conv2dShape;
  outHeight: number;
  outWidth: number;
  /** Pixels of the output, over the batch. */
  pixels: number;
  /** Kernel taps times input channels: the reduction of the forward product. */
  taps: number;
  upsample: number;
  /** Channels of each source. */
  sources: number[];
  uniforms: number[];
}

export function convGeometry(shape: Conv2dShape): ConvGeometry {
  const rows = samePadding(shape.height, shape.kernel, shape.stride);
  const cols = samePadding(shape.width, shape.kernel, shape.stride);
  const { batch, height, width, inChannels, outChannels, kernel, stride } = shape;
  const upsample = shape.input?.upsample ?? 1;
  if (height % upsample || width % upsample)
    throw new Error(`conv2d: ${height}x${width} is not upsampled ${upsample}x`);
  const split = shape.input?.split;
  const sources = split === undefined ? [inChannels] : [split, inChannels - split];
  const uniforms = [batch, height, width, inChannels, rows.out, cols.out, outChannels, kernel];
  uniforms.push(stride, rows.before, cols.before);
  const pixels = batch * rows.out * cols.out;
  const taps = kernel * kernel * inChannels;
  return { shape, outHeight: rows.out, outWidth: cols.out, pixels, taps, upsample, sources, uniforms };
}

/** WGSL reading the convolution's input at (batch n, source pixel sy sx, channel c), before its activation. */
function sourceWgsl(g: ConvGeometry, names: string[]): string {
  const [first, second] = g.sources;
  const at = (name: string, channels: number, channel: string) =>
    `${name}[pixelAt(n, sy, sx) * ${channels}u + ${channel}]`;
  const read =
    second === undefined
      ? `return ${at(names[0], first, 'c')};`
      : `if (c < ${first}u) { return ${at(names[0], first, 'c')}; }\n  return ${at(names[1], second, `c - ${first}u`)};`;
  return /* wgsl */ `
const UP = ${g.upsample}u;
${pixelWgsl(g.shape.input?.tiles)}
fn source(n: u32, sy: u32, sx: u32, c: u32) -> f32 {
  ${read}
}
${activationWgsl(g.shape.input?.activation ?? { kind: 'linear' })}
`;
}

/**
 * WGSL `pixelAt(n, sy, sx)`: where source pixel (sy, sx) of image n is in the source buffers. Tiled, image n is
 * tile n % tiles of image n / tiles, in row-major tile order: the discriminator's Reshape, Permute, Reshape.
 */
function pixelWgsl(tiles: ConvInput['tiles']): string {
  if (!tiles)
    return 'fn pixelAt(n: u32, sy: u32, sx: u32) -> u32 { return (n * (s.height / UP) + sy) * (s.width / UP) + sx; }';
  const across = tiles.across;
  return /* wgsl */ `
fn pixelAt(n: u32, sy: u32, sx: u32) -> u32 {
  let tile = n % ${across * across}u;
  let image = n / ${across * across}u;
  let row = (image * ${across}u + tile / ${across}u) * s.height + sy;
  return row * ${across}u * s.width + (tile % ${across}u) * s.width + sx;
}
`;
}

/** WGSL for the element (pixel m, tap t) of the input's patch matrix: zero in the padding. */
const PATCH = /* wgsl */ `
fn patchAt(m: u32, t: u32) -> f32 {
  let c = t % s.inChannels;
  let tap = t / s.inChannels;
  let ox = m % s.outWidth;
  let rest = m / s.outWidth;
  let oy = rest % s.outHeight;
  let n = rest / s.outHeight;
  let iy = i32(oy * s.stride + tap / s.kernel) - i32(s.padTop);
  let ix = i32(ox * s.stride + tap % s.kernel) - i32(s.padLeft);
  if (iy < 0 || ix < 0 || iy >= i32(s.height) || ix >= i32(s.width)) { return 0.0; }
  return activated(source(n, u32(iy) / UP, u32(ix) / UP, c));
}
`;

const sourceNames = (g: ConvGeometry, prefix: string) => g.sources.map((_, i) => `${prefix}${i}`);

/** Bindings: the sources (1 or 2), w, bias, y. */
export function conv2dForward(device: GPUDevice, g: ConvGeometry): Gemm {
  const names = sourceNames(g, 'x');
  const source: GemmSource = {
    label: 'conv2d forward',
    fields: GEOMETRY,
    bindings: [...names.map((name) => ({ name })), { name: 'w' }, { name: 'bias' }, { name: 'y', write: true }],
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
${PATCH}
fn a(m: u32, t: u32) -> f32 { return patchAt(m, t); }
fn b(t: u32, n: u32) -> f32 { return w[t * s.outChannels + n]; }
fn store(m: u32, n: u32, v: f32) { y[m * s.outChannels + n] = v + bias[n]; }
`,
  };
  return new Gemm(device, source, { m: g.pixels, n: g.shape.outChannels, k: g.taps }, g.uniforms);
}

/** WGSL writing the input gradient of (source pixel m, channel c) to the source that channel came from. */
function storeGradientWgsl(g: ConvGeometry, names: string[]): string {
  const [first, second] = g.sources;
  const write =
    second === undefined
      ? `${names[0]}[p * ${first}u + c] = v * slope(source(n, sy, sx, c));`
      : `if (c < ${first}u) { ${names[0]}[p * ${first}u + c] = v * slope(source(n, sy, sx, c)); }\n` +
        `  else { ${names[1]}[p * ${second}u + c - ${first}u] = v * slope(source(n, sy, sx, c)); }`;
  return /* wgsl */ `
fn store(m: u32, c: u32, v: f32) {
  let sw = s.width / UP;
  let sx = m % sw;
  let sy = (m / sw) % (s.height / UP);
  let n = m / sw / (s.height / UP);
  let p = pixelAt(n, sy, sx);
  ${write}
}
`;
}

/** Bindings: the sources (read for the activation's slope), dy, w, then the sources' gradients. */
export function conv2dInputGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  return g.shape.stride > 1 && g.upsample === 1 ? stridedInputGradient(device, g) : denseInputGradient(device, g);
}

/** The input gradient over every (block offset, tap, output channel): stride 1, or upsampled sources. */
function denseInputGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  const names = sourceNames(g, 'x');
  const gradients = sourceNames(g, 'dx');
  const source: GemmSource = {
    label: 'conv2d input gradient',
    fields: GEOMETRY,
    bindings: [...names, 'dy', 'w'].map((name) => ({ name })).concat(gradients.map((name) => ({ name, write: true }))),
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
// r = (block offset, kernel tap, output channel): the output pixel that read source pixel m's upsampled copy at
// that offset through that tap, if any.
fn a(m: u32, r: u32) -> f32 {
  let co = r % s.outChannels;
  let tap = (r / s.outChannels) % (s.kernel * s.kernel);
  let block = r / s.outChannels / (s.kernel * s.kernel);
  let sw = s.width / UP;
  let sh = s.height / UP;
  let ix = (m % sw) * UP + block % UP;
  let iy = ((m / sw) % sh) * UP + block / UP;
  let n = m / sw / sh;
  let ty = i32(iy + s.padTop) - i32(tap / s.kernel);
  let tx = i32(ix + s.padLeft) - i32(tap % s.kernel);
  if (ty < 0 || tx < 0 || u32(ty) % s.stride != 0u || u32(tx) % s.stride != 0u) { return 0.0; }
  let oy = u32(ty) / s.stride;
  let ox = u32(tx) / s.stride;
  if (oy >= s.outHeight || ox >= s.outWidth) { return 0.0; }
  return dy[((n * s.outHeight + oy) * s.outWidth + ox) * s.outChannels + co];
}
fn b(r: u32, c: u32) -> f32 {
  let co = r % s.outChannels;
  let tap = (r / s.outChannels) % (s.kernel * s.kernel);
  return w[(tap * s.inChannels + c) * s.outChannels + co];
}
${storeGradientWgsl(g, gradients)}
`,
  };
  const { batch, height, width, inChannels, outChannels, kernel } = g.shape;
  const up = g.upsample;
  const dims = { m: (batch * height * width) / (up * up), n: inChannels, k: up * up * kernel * kernel * outChannels };
  return new Gemm(device, source, dims, g.uniforms);
}

/**
 * The input gradient of a strided convolution. Source pixel (iy, ix) is read only through the taps
 * ky = (iy + padTop) mod stride + stride * j (the same in x): the others land between output pixels. So the rows are
 * grouped by pixel class (iy mod stride, ix mod stride), each class padded to whole tiles so a tile holds one
 * class, and the reduction runs over the ceil(kernel / stride)^2 taps of that class: a quarter of the dense
 * reduction at kernel 4, stride 2.
 */
function stridedInputGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  const { batch, height, width, inChannels, outChannels, kernel, stride } = g.shape;
  const [hc, wc, j] = [Math.ceil(height / stride), Math.ceil(width / stride), Math.ceil(kernel / stride)];
  const perClass = batch * hc * wc;
  const tile = chooseTile({ m: perClass * stride * stride, n: inChannels });
  const classRows = Math.ceil(perClass / (tile.wm * tile.rm)) * tile.wm * tile.rm;
  const names = sourceNames(g, 'x');
  const gradients = sourceNames(g, 'dx');
  const source: GemmSource = {
    label: 'conv2d strided input gradient',
    fields: [...GEOMETRY, 'classRows', 'hc', 'wc', 'taps1'],
    bindings: [...names, 'dy', 'w'].map((name) => ({ name })).concat(gradients.map((name) => ({ name, write: true }))),
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
struct Pixel { n: u32, iy: u32, ix: u32, valid: bool }
fn pixelOf(m: u32) -> Pixel {
  let cls = m / s.classRows;
  let within = m % s.classRows;
  let n = within / (s.hc * s.wc);
  let iy = ((within / s.wc) % s.hc) * s.stride + cls / s.stride;
  let ix = (within % s.wc) * s.stride + cls % s.stride;
  return Pixel(n, iy, ix, n < s.batch && iy < s.height && ix < s.width);
}
// The tap of reduction index r for pixel class cls: (ky, kx, output channel), ky >= kernel when there is none.
fn tapOf(cls: u32, r: u32) -> vec3u {
  let co = r % s.outChannels;
  let jj = r / s.outChannels;
  let ky = (cls / s.stride + s.padTop) % s.stride + s.stride * (jj / s.taps1);
  let kx = (cls % s.stride + s.padLeft) % s.stride + s.stride * (jj % s.taps1);
  return vec3u(ky, kx, co);
}
fn a(m: u32, r: u32) -> f32 {
  let p = pixelOf(m);
  let t = tapOf(m / s.classRows, r);
  if (!p.valid || t.x >= s.kernel || t.y >= s.kernel) { return 0.0; }
  let oy = (p.iy + s.padTop - t.x) / s.stride;
  let ox = (p.ix + s.padLeft - t.y) / s.stride;
  if (p.iy + s.padTop < t.x || p.ix + s.padLeft < t.y || oy >= s.outHeight || ox >= s.outWidth) { return 0.0; }
  return dy[((p.n * s.outHeight + oy) * s.outWidth + ox) * s.outChannels + t.z];
}
fn b(r: u32, c: u32) -> f32 {
  let t = tapOf(firstRow / s.classRows, r);
  if (t.x >= s.kernel || t.y >= s.kernel) { return 0.0; }
  return w[((t.x * s.kernel + t.y) * s.inChannels + c) * s.outChannels + t.z];
}
${storeStridedWgsl(g, gradients)}
`,
  };
  const dims = { m: classRows * stride * stride, n: inChannels, k: j * j * outChannels };
  return new Gemm(device, source, dims, [...g.uniforms, classRows, hc, wc, j], tile);
}

/** WGSL writing the gradient of row m (a pixel of a class) and channel c to its source, when m is a pixel. */
function storeStridedWgsl(g: ConvGeometry, names: string[]): string {
  const [first, second] = g.sources;
  const write =
    second === undefined
      ? `${names[0]}[q * ${first}u + c] = v * slope(source(p.n, p.iy, p.ix, c));`
      : `if (c < ${first}u) { ${names[0]}[q * ${first}u + c] = v * slope(source(p.n, p.iy, p.ix, c)); }\n` +
        `  else { ${names[1]}[q * ${second}u + c - ${first}u] = v * slope(source(p.n, p.iy, p.ix, c)); }`;
  return /* wgsl */ `
fn store(m: u32, c: u32, v: f32) {
  let p = pixelOf(m);
  if (!p.valid) { return; }
  let q = pixelAt(p.n, p.iy, p.ix);
  ${write}
}
`;
}

/**
 * Bindings: the sources (1 or 2), dy, dw, db. The bias gradient is one more row of the same product (a row of
 * ones times dy), so the filter and the bias come from one dispatch.
 */
export function conv2dFilterGradient(device: GPUDevice, g: ConvGeometry): Gemm {
  const names = sourceNames(g, 'x');
  const source: GemmSource = {
    label: 'conv2d filter gradient',
    fields: GEOMETRY,
    bindings: [
      ...names.map((name) => ({ name })),
      { name: 'dy' },
      { name: 'dw', write: true },
      { name: 'db', write: true },
    ],
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
${PATCH}
fn a(t: u32, m: u32) -> f32 {
  if (t == s.m - 1u) { return 1.0; }
  return patchAt(m, t);
}
fn b(m: u32, n: u32) -> f32 { return dy[m * s.outChannels + n]; }
fn store(t: u32, n: u32, v: f32) {
  if (t == s.m - 1u) { db[n] = v; } else { dw[t * s.outChannels + n] = v; }
}
`,
  };
  return new Gemm(device, source, { m: g.taps + 1, n: g.shape.outChannels, k: g.pixels }, g.uniforms);
}
