/// <reference types="@webgpu/types" />
// Keras's Conv2DTranspose in the compiled WebGPU step ('same' padding, kernel (k, k, filters, in), bias), the
// decoder of `upsampling: transpose`. A transposed convolution is the adjoint of the Conv2D that maps its output
// (stride x its input's size, `filters` channels) back to its input's size and channels, with the same kernel:
//   forward          y  = that Conv2D's input gradient of the (activated, concatenated) input, plus the bias:
//                         the pixel classes of the strided input gradient (conv2d.ts `PIXEL_CLASS`)
//   input gradient   dx = that Conv2D's forward pass over dy, times the activation's slope, to each source
//   filter gradient  dw = that Conv2D's filter gradient, with dy as its input and the input as its output's gradient
//   bias gradient    db = ones (1 x output pixels) times dy: a product of its own (its reduction is the output's)
// Its input is read as the decoder's convolution reads its own (conv2d.ts `ConvInput`): the level's ReLU of its
// concatenation [up, skip] is folded into the gathers, never written.

import {
  PIXEL_CLASS,
  convGeometry,
  pixelClasses,
  sourceLayout,
  sourceNames,
  sourceWgsl,
  type Conv2dShape,
  type ConvGeometry,
  type ConvUniforms,
} from './conv2d';
import { Gemm, GemmGroup, UNSPLIT, type GemmSource } from './gemm';
import type { StorageLayout } from './layout';

export interface TransposeGeometry {
  /** `height`, `width` and `inChannels` are the input's; `outChannels` the filters. */
  shape: Conv2dShape;
  /** The adjoint Conv2D: from the output (height x stride, filters) to the input (height, inChannels). */
  adjoint: ConvUniforms;
  /** How the input is read: its sources, their split and activation. */
  view: ConvGeometry;
  /** Pixels of the output, over the batch. */
  pixels: number;
}

export function transposeGeometry(shape: Conv2dShape): TransposeGeometry {
  const { batch, height, width, inChannels, outChannels, kernel, stride } = shape;
  if ((shape.input?.upsample ?? 1) !== 1 || shape.input?.tiles)
    throw new Error('conv2d transpose: an upsampled or tiled input');
  const adjoint = convGeometry({
    batch,
    height: height * stride,
    width: width * stride,
    inChannels: outChannels,
    outChannels: inChannels,
    kernel,
    stride,
  }).uniforms;
  if (adjoint.outHeight !== height || adjoint.outWidth !== width)
    throw new Error(`conv2d transpose: ${height}x${width} is not its output's size over ${stride}`);
  const view = convGeometry({ ...shape, stride: 1 });
  return { shape, adjoint, view, pixels: batch * height * width * stride * stride };
}

export type TransposeForwardBinding = `x${number}` | 'w' | 'bias' | 'y';
export type TransposeInputGradientBinding = `x${number}` | 'dy' | 'w' | `dx${number}`;
export type TransposeFilterGradientBinding = `x${number}` | 'dy' | 'dw' | 'db';

/** Bindings: the sources (1 or 2), w, bias, y. */
export function conv2dTransposeForward(
  device: GPUDevice,
  g: TransposeGeometry,
  options = UNSPLIT,
): GemmGroup<TransposeForwardBinding> {
  const source: GemmSource<TransposeForwardBinding> = {
    label: 'conv2d transpose forward',
    storage: { ...sourceLayout(g.view, 'x', 'read'), w: 'read', bias: 'read', y: 'write' },
    functions: /* wgsl */ `
${sourceWgsl(g.view, sourceNames(g.view, 'x'))}
fn outputAt(n: u32, oy: u32, ox: u32, c: u32) -> f32 { return activated(source(n, oy, ox, c)); }
${PIXEL_CLASS}
fn store(m: u32, f: u32, v: f32) {
  let p = pixelOf(m);
  y[((p.x * s.height + p.y) * s.width + p.z) * s.inChannels + f] = v + bias[f];
}
`,
  };
  const { inChannels, outChannels } = g.adjoint;
  const parts = pixelClasses(g.adjoint).map(
    ({ pixels, taps, uniforms }) =>
      new Gemm(device, source, { m: pixels, n: inChannels, k: taps * outChannels }, uniforms, options),
  );
  return new GemmGroup(parts);
}

/**
 * The gathers over dy (the output's gradient) as the adjoint Conv2D's patches: `Pixel` is an input pixel (the
 * corner of its receptive field in dy), `Tap` a kernel tap and filter; `dyAt` is zero in the padding.
 */
const DY_PATCH = /* wgsl */ `
struct Pixel { n: u32, y0: i32, x0: i32, m: u32 }
fn pixelOf(m: u32) -> Pixel {
  let ox = m % s.outWidth;
  let rest = m / s.outWidth;
  let oy = rest % s.outHeight;
  return Pixel(rest / s.outHeight, i32(oy * s.stride) - i32(s.padTop), i32(ox * s.stride) - i32(s.padLeft), m);
}
struct Tap { t: u32, ky: i32, kx: i32, f: u32 }
fn tapOf(t: u32) -> Tap {
  let tap = t / s.inChannels;
  return Tap(t, i32(tap / s.kernel), i32(tap % s.kernel), t % s.inChannels);
}
fn dyAt(p: Pixel, t: Tap) -> f32 {
  let iy = p.y0 + t.ky;
  let ix = p.x0 + t.kx;
  if (iy < 0 || ix < 0 || iy >= i32(s.height) || ix >= i32(s.width)) { return 0.0; }
  return dy[((p.n * s.height + u32(iy)) * s.width + u32(ix)) * s.inChannels + t.f];
}
`;

/** WGSL writing the input gradient of (input pixel m, channel c), times the activation's slope, to its source. */
function storeSourcesWgsl(g: ConvGeometry, names: string[]): string {
  const [first, second] = g.sources;
  const write =
    second === undefined
      ? `${names[0]}[m * ${first}u + c] = v * slope(sourceAt(m, c));`
      : `if (c < ${first}u) { ${names[0]}[m * ${first}u + c] = v * slope(sourceAt(m, c)); }\n` +
        `  else { ${names[1]}[m * ${second}u + c - ${first}u] = v * slope(sourceAt(m, c)); }`;
  return `fn store(m: u32, c: u32, v: f32) {\n  ${write}\n}`;
}

/** Bindings: the sources (read for the activation's slope), dy, w, then the sources' gradients. */
export function conv2dTransposeInputGradient(
  device: GPUDevice,
  g: TransposeGeometry,
  options = UNSPLIT,
): Gemm<TransposeInputGradientBinding> {
  const storage: StorageLayout<TransposeInputGradientBinding> = {
    ...sourceLayout(g.view, 'x', 'read'),
    dy: 'read',
    w: 'read',
    ...sourceLayout(g.view, 'dx', 'write'),
  };
  const source: GemmSource<TransposeInputGradientBinding> = {
    label: 'conv2d transpose input gradient',
    storage,
    functions: /* wgsl */ `
${sourceWgsl(g.view, sourceNames(g.view, 'x'))}
${DY_PATCH}
alias Row = Pixel;
alias Red = Tap;
alias Col = u32;
fn row(m: u32) -> Pixel { return pixelOf(m); }
fn red(t: u32) -> Tap { return tapOf(t); }
fn col(c: u32) -> u32 { return c; }
fn a(p: Pixel, t: Tap) -> f32 { return dyAt(p, t); }
fn b(t: Tap, c: u32) -> f32 { return w[t.t * s.outChannels + c]; }
${storeSourcesWgsl(g.view, sourceNames(g.view, 'dx'))}
`,
  };
  const { batch, outHeight, outWidth, outChannels, kernel, inChannels } = g.adjoint;
  const dims = { m: batch * outHeight * outWidth, n: outChannels, k: kernel * kernel * inChannels };
  return new Gemm(device, source, dims, g.adjoint, options);
}

/** Bindings: the sources (1 or 2), dy, dw, db: the filter's product, then the bias's. */
export function conv2dTransposeFilterGradient(
  device: GPUDevice,
  g: TransposeGeometry,
  options = UNSPLIT,
): GemmGroup<TransposeFilterGradientBinding> {
  const storage: StorageLayout<TransposeFilterGradientBinding> = {
    ...sourceLayout(g.view, 'x', 'read'),
    dy: 'read',
    dw: 'write',
    db: 'write',
  };
  const header = sourceWgsl(g.view, sourceNames(g.view, 'x'));
  const filter: GemmSource<TransposeFilterGradientBinding> = {
    label: 'conv2d transpose filter gradient',
    storage,
    functions: /* wgsl */ `
${header}
${DY_PATCH}
alias Row = Tap;
alias Red = Pixel;
alias Col = u32;
fn row(t: u32) -> Tap { return tapOf(t); }
fn red(m: u32) -> Pixel { return pixelOf(m); }
fn col(c: u32) -> u32 { return c; }
fn a(t: Tap, p: Pixel) -> f32 { return dyAt(p, t); }
fn b(p: Pixel, c: u32) -> f32 { return activated(sourceAt(p.m, c)); }
fn store(t: u32, c: u32, v: f32) { dw[t * s.outChannels + c] = v; }
`,
  };
  const bias: GemmSource<TransposeFilterGradientBinding> = {
    label: 'conv2d transpose bias gradient',
    storage,
    functions: /* wgsl */ `
alias Row = u32;
alias Red = u32;
alias Col = u32;
fn row(m: u32) -> u32 { return m; }
fn red(k: u32) -> u32 { return k; }
fn col(f: u32) -> u32 { return f; }
fn a(m: u32, k: u32) -> f32 { return 1.0; }
fn b(k: u32, f: u32) -> f32 { return dy[k * s.inChannels + f]; }
fn store(m: u32, f: u32, v: f32) { db[f] = v; }
`,
  };
  const { batch, outHeight, outWidth, outChannels, kernel, inChannels } = g.adjoint;
  const filterDims = { m: kernel * kernel * inChannels, n: outChannels, k: batch * outHeight * outWidth };
  const biasDims = { m: 1, n: inChannels, k: g.pixels };
  return new GemmGroup([
    new Gemm(device, filter, filterDims, g.adjoint, options),
    new Gemm(device, bias, biasDims, g.adjoint, options),
  ]);
}
