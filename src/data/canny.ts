// Canny edge detection on 8-bit grayscale as OpenCV's `cv2.Canny` (which the seed used, with thresholds 128/128
// and no blur): Sobel 3x3 gradients with replicated borders, the L1 magnitude |gx| + |gy|, non-maximum suppression
// along the gradient direction with OpenCV's direction sectors and tie-breaking, and hysteresis (a pixel is weak
// above `low`, strong above `high`, both strictly). An optional Gaussian blur comes first. Pure; the data
// pipeline draws the edges black on white, as the seed did.

export interface CannyOptions {
  /** Gaussian sigma of a 5x5 blur before the gradients (0: none, as the seed). */
  sigma?: number;
  /** Hysteresis thresholds on the L1 Sobel magnitude |gx| + |gy| (of the blurred image, when blurred). */
  low?: number;
  high?: number;
}

/** The seed's `cv2.Canny(gray, 128, 128)`. */
const CANNY_DEFAULTS: Required<CannyOptions> = { sigma: 0, low: 128, high: 128 };

function gaussianKernel(sigma: number): Float32Array {
  const k = new Float32Array(5);
  let sum = 0;
  for (let i = -2; i <= 2; i++) {
    k[i + 2] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += k[i + 2];
  }
  for (let i = 0; i < 5; i++) k[i] /= sum;
  return k;
}

const clampIndex = (i: number, n: number) => (i < 0 ? 0 : i >= n ? n - 1 : i);

/** Separable 5x5 Gaussian with replicated borders. */
function gaussianBlur(src: ArrayLike<number>, width: number, height: number, sigma: number): Float32Array {
  const k = gaussianKernel(sigma);
  const tmp = new Float32Array(width * height);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -2; i <= 2; i++) s += k[i + 2] * src[y * width + clampIndex(x + i, width)];
      tmp[y * width + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -2; i <= 2; i++) s += k[i + 2] * tmp[clampIndex(y + i, height) * width + x];
      out[y * width + x] = s;
    }
  }
  return out;
}

/** Gradient sector of (gx, gy) as OpenCV computes it: 0 horizontal, 2 vertical, 1 and 3 the diagonals. */
function sector(gx: number, gy: number): number {
  // tan(22.5°) and tan(67.5°) = tan(22.5°) + 2, in OpenCV's 15-bit fixed point.
  const x = Math.abs(gx);
  const y = Math.abs(gy) * 32768;
  const tg22x = x * 13573;
  if (y < tg22x) return 0;
  if (y > tg22x + x * 65536) return 2;
  return gx < 0 !== gy < 0 ? 3 : 1;
}

/** Sobel magnitudes (L1) and gradient sectors, borders replicated. */
function gradients(img: ArrayLike<number>, width: number, height: number): { mag: Float32Array; dir: Uint8Array } {
  const mag = new Float32Array(width * height);
  const dir = new Uint8Array(width * height);
  const px = (x: number, y: number) => img[clampIndex(y, height) * width + clampIndex(x, width)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const gx =
        px(x + 1, y - 1) + 2 * px(x + 1, y) + px(x + 1, y + 1) - px(x - 1, y - 1) - 2 * px(x - 1, y) - px(x - 1, y + 1);
      const gy =
        px(x - 1, y + 1) + 2 * px(x, y + 1) + px(x + 1, y + 1) - px(x - 1, y - 1) - 2 * px(x, y - 1) - px(x + 1, y - 1);
      mag[y * width + x] = Math.abs(gx) + Math.abs(gy);
      dir[y * width + x] = sector(gx, gy);
    }
  }
  return { mag, dir };
}

/**
 * Non-maximum suppression: a pixel above `low` stays if it is a maximum across the edge. As OpenCV: strictly
 * above the left (upper) neighbour and at least the right (lower) one, strictly above both on a diagonal.
 */
function suppress(mag: Float32Array, dir: Uint8Array, width: number, height: number, low: number): Float32Array {
  const at = (x: number, y: number) => (x >= 0 && x < width && y >= 0 && y < height ? mag[y * width + x] : 0);
  const thin = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const m = mag[y * width + x];
      if (m <= low) continue;
      const d = dir[y * width + x];
      const keep =
        d === 0
          ? m > at(x - 1, y) && m >= at(x + 1, y)
          : d === 2
            ? m > at(x, y - 1) && m >= at(x, y + 1)
            : d === 1
              ? m > at(x - 1, y - 1) && m > at(x + 1, y + 1)
              : m > at(x + 1, y - 1) && m > at(x - 1, y + 1);
      if (keep) thin[y * width + x] = m;
    }
  }
  return thin;
}

/** Hysteresis: pixels above `high` seed edges that grow through 8-connected pixels above `low`. */
function hysteresis(thin: Float32Array, width: number, height: number, low: number, high: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const stack: number[] = [];
  for (let i = 0; i < thin.length; i++) {
    if (thin[i] <= high || out[i]) continue;
    out[i] = 255;
    stack.push(i);
    while (stack.length) {
      const j = stack.pop()!;
      const jx = j % width;
      const jy = (j - jx) / width;
      for (let oy = -1; oy <= 1; oy++) {
        for (let ox = -1; ox <= 1; ox++) {
          const x = jx + ox;
          const y = jy + oy;
          if (x < 0 || x >= width || y < 0 || y >= height) continue;
          const k = y * width + x;
          if (!out[k] && thin[k] > low) {
            out[k] = 255;
            stack.push(k);
          }
        }
      }
    }
  }
  return out;
}

/** Edge map: 255 on edges, 0 elsewhere. */
export function canny(gray: ArrayLike<number>, width: number, height: number, options: CannyOptions = {}): Uint8Array {
  const { sigma, low, high } = { ...CANNY_DEFAULTS, ...options };
  const img = sigma > 0 ? gaussianBlur(gray, width, height, sigma) : gray;
  const { mag, dir } = gradients(img, width, height);
  return hysteresis(suppress(mag, dir, width, height, low), width, height, low, high);
}

/** Gray of interleaved RGB bytes as OpenCV's RGB2GRAY: BT.601 weights in 14-bit fixed point, rounded. */
export function luma(rgb: ArrayLike<number>, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++)
    out[i] = (4899 * rgb[3 * i] + 9617 * rgb[3 * i + 1] + 1868 * rgb[3 * i + 2] + 8192) >> 14;
  return out;
}
