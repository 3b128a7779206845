// Image quality metrics on images scaled to [-1, 1] (NHWC, flattened): L1 on that scale as the loss sees it,
// PSNR and SSIM (Gaussian 11x11, sigma 1.5, per channel, Wang et al. 2004) on [0, 1].

import type { Quality } from '../protocol/trainer';

function gaussian11(): Float32Array {
  const k = new Float32Array(11);
  let s = 0;
  for (let i = 0; i < 11; i++) {
    k[i] = Math.exp(-((i - 5) ** 2) / (2 * 1.5 * 1.5));
    s += k[i];
  }
  return k.map((v) => v / s);
}
const G = gaussian11();

/** Separable Gaussian over one channel plane (valid region only, as the reference implementation). */
function blur(plane: Float32Array, w: number, h: number): { data: Float32Array; w: number; h: number } {
  const ow = w - 10;
  const oh = h - 10;
  const tmp = new Float32Array(ow * h);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < 11; i++) s += G[i] * plane[y * w + x + i];
      tmp[y * ow + x] = s;
    }
  const out = new Float32Array(ow * oh);
  for (let y = 0; y < oh; y++)
    for (let x = 0; x < ow; x++) {
      let s = 0;
      for (let i = 0; i < 11; i++) s += G[i] * tmp[(y + i) * ow + x];
      out[y * ow + x] = s;
    }
  return { data: out, w: ow, h: oh };
}

/** Mean SSIM of two images given as one channel plane each, values in [0, 1]. */
export function ssimPlane(a: Float32Array, b: Float32Array, w: number, h: number): number {
  if (w < 11 || h < 11) {
    // Too small for the window: SSIM over the whole plane as one window.
    let ma = 0,
      mb = 0;
    for (let i = 0; i < a.length; i++) {
      ma += a[i];
      mb += b[i];
    }
    ma /= a.length;
    mb /= b.length;
    let va = 0,
      vb = 0,
      cov = 0;
    for (let i = 0; i < a.length; i++) {
      va += (a[i] - ma) ** 2;
      vb += (b[i] - mb) ** 2;
      cov += (a[i] - ma) * (b[i] - mb);
    }
    va /= a.length;
    vb /= a.length;
    cov /= a.length;
    return ssimFormula(ma, mb, va, vb, cov);
  }
  const sq = (x: Float32Array) => x.map((v) => v * v);
  const mul = a.map((v, i) => v * b[i]);
  const mA = blur(a, w, h).data;
  const mB = blur(b, w, h).data;
  const sAA = blur(sq(a), w, h).data;
  const sBB = blur(sq(b), w, h).data;
  const sAB = blur(mul, w, h).data;
  let total = 0;
  for (let i = 0; i < mA.length; i++) {
    total += ssimFormula(mA[i], mB[i], sAA[i] - mA[i] * mA[i], sBB[i] - mB[i] * mB[i], sAB[i] - mA[i] * mB[i]);
  }
  return total / mA.length;
}

const C1 = 0.01 ** 2;
const C2 = 0.03 ** 2;
function ssimFormula(ma: number, mb: number, va: number, vb: number, cov: number): number {
  return ((2 * ma * mb + C1) * (2 * cov + C2)) / ((ma * ma + mb * mb + C1) * (va + vb + C2));
}

/** Each image's mean absolute error on [-1, 1]: generated and target are [n, ...] with `per` values per image. */
export function imageL1s(generated: Float32Array, target: Float32Array, n: number, per: number): number[] {
  return Array.from({ length: n }, (_, k) => {
    let abs = 0;
    for (let i = k * per; i < (k + 1) * per; i++) abs += Math.abs(generated[i] - target[i]);
    return abs / per;
  });
}

/** The SSIM of two images of `size` x `size` x `channels` on [-1, 1]: the mean over channels, on [0, 1]. */
export function imageSsim(a: Float32Array, b: Float32Array, size: number, channels: number): number {
  let s = 0;
  const pa = new Float32Array(size * size);
  const pb = new Float32Array(size * size);
  for (let c = 0; c < channels; c++) {
    for (let p = 0; p < size * size; p++) {
      pa[p] = (a[p * channels + c] + 1) / 2;
      pb[p] = (b[p * channels + c] + 1) / 2;
    }
    s += ssimPlane(pa, pb, size, size);
  }
  return s / channels;
}

/** Mean quality of a batch of generated vs target images, both [n, size, size, channels] in [-1, 1]. */
export function quality(
  generated: Float32Array,
  target: Float32Array,
  n: number,
  size: number,
  channels: number,
): Quality {
  let psnr = 0;
  let ssim = 0;
  const per = size * size * channels;
  const l1s = imageL1s(generated, target, n, per);
  for (let k = 0; k < n; k++) {
    let se = 0;
    for (let i = k * per; i < (k + 1) * per; i++) se += ((generated[i] - target[i]) / 2) ** 2; // on [0, 1]
    const mse = se / per;
    psnr += mse > 1e-10 ? 10 * Math.log10(1 / mse) : 100;
    ssim += imageSsim(
      generated.subarray(k * per, (k + 1) * per),
      target.subarray(k * per, (k + 1) * per),
      size,
      channels,
    );
  }
  return { l1: l1s.reduce((a, b) => a + b, 0) / n, psnr: psnr / n, ssim: ssim / n };
}
