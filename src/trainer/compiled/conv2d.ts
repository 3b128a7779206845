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
import { Gemm, GemmGroup, UNSPLIT, type GemmOptions, type GemmSource, type Kernel } from './gemm';
import type { Access, Binding, BufferSet, StorageLayout, UniformValues } from './layout';

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

/** What every convolution kernel reads as its uniforms (`s.<field>` in WGSL, in this order). */
export type ConvUniforms = {
  batch: number;
  height: number;
  width: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  kernel: number;
  stride: number;
  /** The 'same' padding before the first row and column. */
  padTop: number;
  padLeft: number;
};

export interface ConvGeometry {
  shape: Conv2dShape;
  uniforms: ConvUniforms;
  /** Pixels of the output, over the batch. */
  pixels: number;
  /** Kernel taps times input channels: the reduction of the forward product. */
  taps: number;
  upsample: number;
  /** Channels of each source. */
  sources: number[];
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
  const uniforms: ConvUniforms = {
    batch,
    height,
    width,
    inChannels,
    outHeight: rows.out,
    outWidth: cols.out,
    outChannels,
    kernel,
    stride,
    padTop: rows.before,
    padLeft: cols.before,
  };
  const pixels = batch * rows.out * cols.out;
  const taps = kernel * kernel * inChannels;
  return { shape, uniforms, pixels, taps, upsample, sources };
}

/**
 * WGSL reading the convolution's input, before its activation: `sourceAt(p, c)` at pixel index p (over the
 * batch, in the sources' layout) and channel c; `imageBase(n)` and `PITCH` locate (image n, row sy, column sx) at
 * imageBase(n) + sy * PITCH + sx, and `source(n, sy, sx, c)` reads it.
 */
export function sourceWgsl(g: ConvGeometry, names: string[]): string {
  const [first, second] = g.sources;
  const read =
    second === undefined
      ? `return ${names[0]}[p * ${first}u + c];`
      : `if (c < ${first}u) { return ${names[0]}[p * ${first}u + c]; }\n  return ${names[1]}[p * ${second}u + c - ${first}u];`;
  return /* wgsl */ `
const UP = ${g.upsample}u;
${imageWgsl(g)}
fn sourceAt(p: u32, c: u32) -> f32 {
  ${read}
}
fn pixelAt(n: u32, sy: u32, sx: u32) -> u32 { return imageBase(n) + sy * PITCH + sx; }
fn source(n: u32, sy: u32, sx: u32, c: u32) -> f32 { return sourceAt(pixelAt(n, sy, sx), c); }
${activationWgsl(g.shape.input?.activation ?? { kind: 'linear' })}
`;
}

/**
 * WGSL `imageBase(n)` and `PITCH`: where image n's first pixel is in the source buffers, and the pixels from one of
 * its rows to the next. Tiled, image n is tile n % tiles of image n / tiles, in row-major tile order: the
 * discriminator's Reshape, Permute, Reshape.
 */
function imageWgsl(g: ConvGeometry): string {
  const [h, w] = [g.shape.height / g.upsample, g.shape.width / g.upsample];
  const tiles = g.shape.input?.tiles;
  if (!tiles) return `const PITCH = ${w}u;\nfn imageBase(n: u32) -> u32 { return n * ${h * w}u; }`;
  const across = tiles.across;
  return /* wgsl */ `
const PITCH = ${across * w}u;
fn imageBase(n: u32) -> u32 {
  let tile = n % ${across * across}u;
  let image = n / ${across * across}u;
  return (image * ${across}u + tile / ${across}u) * ${h * across * w}u + (tile % ${across}u) * ${w}u;
}
`;
}

/**
 * The input's patch matrix (output pixel, tap), zero in the padding, as the GEMM's gathers see it: the pixel's part
 * (`Pixel`: its image and the corner of its receptive field) and the tap's (`Tap`: kernel row, column, channel).
 */
const PATCH = /* wgsl */ `
struct Pixel { base: u32, y0: i32, x0: i32, m: u32 }
fn pixelOf(m: u32) -> Pixel {
  let ox = m % s.outWidth;
  let rest = m / s.outWidth;
  let oy = rest % s.outHeight;
  let n = rest / s.outHeight;
  return Pixel(imageBase(n), i32(oy * s.stride) - i32(s.padTop), i32(ox * s.stride) - i32(s.padLeft), m);
}
struct Tap { t: u32, ky: i32, kx: i32, c: u32, bias: bool }
fn tapOf(t: u32) -> Tap {
  let tap = t / s.inChannels;
  return Tap(t, i32(tap / s.kernel), i32(tap % s.kernel), t % s.inChannels, t == s.taps);
}
fn patchAt(p: Pixel, t: Tap) -> f32 {
  let iy = p.y0 + t.ky;
  let ix = p.x0 + t.kx;
  if (iy < 0 || ix < 0 || iy >= i32(s.height) || ix >= i32(s.width)) { return 0.0; }
  return activated(sourceAt(p.base + (u32(iy) / UP) * PITCH + u32(ix) / UP, t.c));
}
`;

/** The binding names of a convolution's sources (`x0`, `x1`) or of their gradients (`dx0`, `dx1`). */
type SourceName<P extends 'x' | 'dx'> = `${P}${number}`;

const sourceName = <P extends 'x' | 'dx'>(prefix: P, i: number): SourceName<P> => `${prefix}${i}`;

export const sourceNames = <P extends 'x' | 'dx'>(g: ConvGeometry, prefix: P) =>
  g.sources.map((_, i) => sourceName(prefix, i));

/** The sources' (or their gradients') buffers, by their binding names. */
export function sourceBindings<P extends 'x' | 'dx'>(prefix: P, buffers: readonly Binding[]): BufferSet<SourceName<P>> {
  return Object.fromEntries(buffers.map((b, i) => [sourceName(prefix, i), b])) as BufferSet<SourceName<P>>;
}

export function sourceLayout<P extends 'x' | 'dx'>(
  g: ConvGeometry,
  prefix: P,
  access: Access,
): StorageLayout<SourceName<P>> {
  return Object.fromEntries(sourceNames(g, prefix).map((name) => [name, access])) as StorageLayout<SourceName<P>>;
}

export type ConvForwardBinding = SourceName<'x'> | 'w' | 'bias' | 'y';
export type ConvInputGradientBinding = SourceName<'x'> | 'dy' | 'w' | SourceName<'dx'>;
export type ConvFilterGradientBinding = SourceName<'x'> | 'dy' | 'dw' | 'db';

/** Bindings: the sources (1 or 2), w, bias, y. */
export function conv2dForward(device: GPUDevice, g: ConvGeometry, options = UNSPLIT): Gemm<ConvForwardBinding> {
  const names = sourceNames(g, 'x');
  const source: GemmSource<ConvForwardBinding> = {
    label: 'conv2d forward',
    storage: { ...sourceLayout(g, 'x', 'read'), w: 'read', bias: 'read', y: 'write' },
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
${PATCH}
alias Row = Pixel;
alias Red = Tap;
alias Col = u32;
fn row(m: u32) -> Pixel { return pixelOf(m); }
fn red(t: u32) -> Tap { return tapOf(t); }
fn col(n: u32) -> u32 { return n; }
fn a(p: Pixel, t: Tap) -> f32 { return patchAt(p, t); }
fn b(t: Tap, n: u32) -> f32 { return w[t.t * s.outChannels + n]; }
fn store(m: u32, n: u32, v: f32) { y[m * s.outChannels + n] = v + bias[n]; }
`,
  };
  const dims = { m: g.pixels, n: g.shape.outChannels, k: g.taps };
  return new Gemm(device, source, dims, { ...g.uniforms, taps: g.taps }, options);
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
export function conv2dInputGradient(
  device: GPUDevice,
  g: ConvGeometry,
  options = UNSPLIT,
): Kernel<ConvInputGradientBinding> {
  const strided = g.shape.stride > 1 && g.upsample === 1;
  return strided ? stridedInputGradient(device, g, options) : fullInputGradient(device, g, options);
}

const inputGradientLayout = (g: ConvGeometry): StorageLayout<ConvInputGradientBinding> => ({
  ...sourceLayout(g, 'x', 'read'),
  dy: 'read',
  w: 'read',
  ...sourceLayout(g, 'dx', 'write'),
});

/** The input gradient over every (block offset, tap, output channel): stride 1, or upsampled sources. */
function fullInputGradient(device: GPUDevice, g: ConvGeometry, options: GemmOptions): Gemm<ConvInputGradientBinding> {
  const names = sourceNames(g, 'x');
  const gradients = sourceNames(g, 'dx');
  const source: GemmSource<ConvInputGradientBinding> = {
    label: 'conv2d input gradient',
    storage: inputGradientLayout(g),
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
// Row m: source pixel (sy, sx) of image n. Reduction index r: (block offset, kernel tap, output channel); the
// element is dy at the output pixel that read the pixel's upsampled copy at that offset through that tap, if any.
struct Row { n: u32, iy: i32, ix: i32 }
struct Red { r: u32, dy: i32, dx: i32, co: u32 }
alias Col = u32;
fn row(m: u32) -> Row {
  let sx = m % (s.width / UP);
  let sy = (m / (s.width / UP)) % (s.height / UP);
  return Row(m / (s.width / UP) / (s.height / UP), i32(sy * UP + s.padTop), i32(sx * UP + s.padLeft));
}
fn red(r: u32) -> Red {
  let co = r % s.outChannels;
  let tap = (r / s.outChannels) % (s.kernel * s.kernel);
  let block = r / s.outChannels / (s.kernel * s.kernel);
  return Red(r, i32(block / UP) - i32(tap / s.kernel), i32(block % UP) - i32(tap % s.kernel), co);
}
fn col(c: u32) -> u32 { return c; }
fn a(p: Row, k: Red) -> f32 {
  let ty = p.iy + k.dy;
  let tx = p.ix + k.dx;
  if (ty < 0 || tx < 0 || u32(ty) % s.stride != 0u || u32(tx) % s.stride != 0u) { return 0.0; }
  let oy = u32(ty) / s.stride;
  let ox = u32(tx) / s.stride;
  if (oy >= s.outHeight || ox >= s.outWidth) { return 0.0; }
  return dy[((p.n * s.outHeight + oy) * s.outWidth + ox) * s.outChannels + k.co];
}
fn b(k: Red, c: u32) -> f32 {
  let tap = (k.r / s.outChannels) % (s.kernel * s.kernel);
  return w[(tap * s.inChannels + c) * s.outChannels + k.co];
}
${storeGradientWgsl(g, gradients)}
`,
  };
  const { batch, height, width, inChannels, outChannels, kernel } = g.shape;
  const up = g.upsample;
  const dims = { m: (batch * height * width) / (up * up), n: inChannels, k: up * up * kernel * kernel * outChannels };
  return new Gemm(device, source, dims, g.uniforms, options);
}

/**
 * The input gradient of a strided convolution. Source pixel (iy, ix) is read only through the taps
 * ky = (iy + padTop) mod stride + stride * j (the same in x): the others land between output pixels. So each pixel
 * class (iy mod stride, ix mod stride) is a product of its own over exactly its taps: at kernel 4 and stride 2 a
 * quarter of the dense reduction, at kernel 3 (the seed's) 9/64 of it.
 */
function stridedInputGradient(
  device: GPUDevice,
  g: ConvGeometry,
  options: GemmOptions,
): GemmGroup<ConvInputGradientBinding> {
  const source: GemmSource<ConvInputGradientBinding> = {
    label: 'conv2d strided input gradient',
    storage: inputGradientLayout(g),
    functions: /* wgsl */ `
${sourceWgsl(g, sourceNames(g, 'x'))}
fn outputAt(n: u32, oy: u32, ox: u32, co: u32) -> f32 {
  return dy[((n * s.outHeight + oy) * s.outWidth + ox) * s.outChannels + co];
}
${PIXEL_CLASS}
${storeStridedWgsl(g, sourceNames(g, 'dx'))}
`,
  };
  const { inChannels, outChannels } = g.uniforms;
  const parts = pixelClasses(g.uniforms).map(
    ({ pixels, taps, uniforms }) =>
      new Gemm(device, source, { m: pixels, n: inChannels, k: taps * outChannels }, uniforms, options),
  );
  return new GemmGroup(parts);
}

/**
 * The pixel classes (py, px) of a convolution's input under its stride: the class's pixels over the batch, its
 * taps, and the uniforms `PIXEL_CLASS` reads (the geometry's, with the class and its first taps).
 */
export function pixelClasses(u: ConvUniforms): { pixels: number; taps: number; uniforms: UniformValues }[] {
  const { batch, height, width, kernel, stride, padTop, padLeft } = u;
  const classes: { pixels: number; taps: number; uniforms: UniformValues }[] = [];
  for (let py = 0; py < stride; py++) {
    for (let px = 0; px < stride; px++) {
      const [hc, wc] = [Math.ceil((height - py) / stride), Math.ceil((width - px) / stride)];
      const [ry, rx] = [(py + padTop) % stride, (px + padLeft) % stride];
      const [jy, jx] = [Math.max(0, Math.ceil((kernel - ry) / stride)), Math.max(0, Math.ceil((kernel - rx) / stride))];
      if (hc <= 0 || wc <= 0) continue;
      const uniforms = { ...u, py, px, hc, wc, ry, rx, jx: Math.max(jx, 1) };
      classes.push({ pixels: batch * hc * wc, taps: jy * jx, uniforms });
    }
  }
  return classes;
}

/**
 * The gathers of one pixel class's product (the class (py, px) and its taps are uniforms), over the output side
 * the WGSL before it reads as `outputAt(n, oy, ox, co)`: row m is pixel (iy, ix) of image n on the input side, a
 * reduction index is one of the class's taps (ky, kx) and an output channel, a column is an input channel; B is the
 * kernel. A convolution's input gradient reads dy there; a transposed convolution's forward pass, its input.
 */
export const PIXEL_CLASS = /* wgsl */ `
// Row m of this class's product: pixel (iy, ix) of image n.
fn pixelOf(m: u32) -> vec3u {
  return vec3u(m / (s.hc * s.wc), ((m / s.wc) % s.hc) * s.stride + s.py, (m % s.wc) * s.stride + s.px);
}
// Reduction index r: the class's tap (ky, kx) and output channel; the output pixel row is (iy + padTop - ky) / stride.
struct Red { ky: u32, kx: u32, co: u32, weight: u32 }
alias Row = vec3u;
alias Col = u32;
fn row(m: u32) -> vec3u { return pixelOf(m); }
fn red(r: u32) -> Red {
  let j = r / s.outChannels;
  let ky = s.ry + s.stride * (j / s.jx);
  let kx = s.rx + s.stride * (j % s.jx);
  let co = r % s.outChannels;
  return Red(ky, kx, co, (ky * s.kernel + kx) * s.inChannels * s.outChannels + co);
}
fn col(c: u32) -> u32 { return c; }
fn a(p: vec3u, t: Red) -> f32 {
  if (p.y + s.padTop < t.ky || p.z + s.padLeft < t.kx) { return 0.0; }
  let oy = (p.y + s.padTop - t.ky) / s.stride;
  let ox = (p.z + s.padLeft - t.kx) / s.stride;
  if (oy >= s.outHeight || ox >= s.outWidth) { return 0.0; }
  return outputAt(p.x, oy, ox, t.co);
}
fn b(t: Red, c: u32) -> f32 { return w[t.weight + c * s.outChannels]; }
`;

/** WGSL writing the gradient of row m (a pixel of the class) and channel c to its source. */
function storeStridedWgsl(g: ConvGeometry, names: string[]): string {
  const [first, second] = g.sources;
  const write =
    second === undefined
      ? `${names[0]}[q * ${first}u + c] = v * slope(source(p.x, p.y, p.z, c));`
      : `if (c < ${first}u) { ${names[0]}[q * ${first}u + c] = v * slope(source(p.x, p.y, p.z, c)); }\n` +
        `  else { ${names[1]}[q * ${second}u + c - ${first}u] = v * slope(source(p.x, p.y, p.z, c)); }`;
  return /* wgsl */ `
fn store(m: u32, c: u32, v: f32) {
  let p = pixelOf(m);
  let q = pixelAt(p.x, p.y, p.z);
  ${write}
}
`;
}

/**
 * Bindings: the sources (1 or 2), dy, dw, db. The bias gradient is one more row of the same product (a row of
 * ones times dy), so the filter and the bias come from one dispatch.
 */
export function conv2dFilterGradient(
  device: GPUDevice,
  g: ConvGeometry,
  options = UNSPLIT,
): Gemm<ConvFilterGradientBinding> {
  const names = sourceNames(g, 'x');
  const source: GemmSource<ConvFilterGradientBinding> = {
    label: 'conv2d filter gradient',
    storage: { ...sourceLayout(g, 'x', 'read'), dy: 'read', dw: 'write', db: 'write' },
    functions: /* wgsl */ `
${sourceWgsl(g, names)}
${PATCH}
alias Row = Tap;
alias Red = Pixel;
alias Col = u32;
fn row(t: u32) -> Tap { return tapOf(t); }
fn red(m: u32) -> Pixel { return pixelOf(m); }
fn col(n: u32) -> u32 { return n; }
fn a(t: Tap, p: Pixel) -> f32 { return select(patchAt(p, t), 1.0, t.bias); }
fn b(p: Pixel, n: u32) -> f32 { return dy[p.m * s.outChannels + n]; }
fn store(t: u32, n: u32, v: f32) {
  if (t == s.taps) { db[n] = v; } else { dw[t * s.outChannels + n] = v; }
}
`,
  };
  const dims = { m: g.taps + 1, n: g.shape.outChannels, k: g.pixels };
  return new Gemm(device, source, dims, { ...g.uniforms, taps: g.taps }, options);
}
