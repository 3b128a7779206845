// Canny edge detection on 8-bit grayscale: Gaussian blur, Sobel gradients, non-maximum suppression along the
// gradient direction, and hysteresis between two thresholds. Pure; the data pipeline draws the edges black on
// white, as the seed did with OpenCV.

export interface CannyOptions {
  /** Gaussian sigma of the 5x5 blur (0 skips it). */
  sigma?: number;
  /** Hysteresis thresholds on the L1 Sobel magnitude |gx| + |gy| of the blurred 8-bit image. */
  low?: number;
  high?: number;
}

export const CANNY_DEFAULTS: Required<CannyOptions> = { sigma: 1.0, low: 40, high: 80 };

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
export function gaussianBlur(src: ArrayLike<number>, width: number, height: number, sigma: number): Float32Array {
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

/** Edge map: 255 on edges, 0 elsewhere. */
export function canny(gray: ArrayLike<number>, width: number, height: number, options: CannyOptions = {}): Uint8Array {
  const { sigma, low, high } = { ...CANNY_DEFAULTS, ...options };
  const img = sigma > 0 ? gaussianBlur(gray, width, height, sigma) : Float32Array.from(gray);
  const n = width * height;
  const mag = new Float32Array(n);
  const dir = new Uint8Array(n); // 0: horizontal gradient (vertical edge), 1: 45°, 2: vertical, 3: 135°
  const px = (x: number, y: number) => img[clampIndex(y, height) * width + clampIndex(x, width)];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const gx = px(x + 1, y - 1) + 2 * px(x + 1, y) + px(x + 1, y + 1) - px(x - 1, y - 1) - 2 * px(x - 1, y) - px(x - 1, y + 1);
      const gy = px(x - 1, y + 1) + 2 * px(x, y + 1) + px(x + 1, y + 1) - px(x - 1, y - 1) - 2 * px(x, y - 1) - px(x + 1, y - 1);
      const i = y * width + x;
      mag[i] = Math.abs(gx) + Math.abs(gy);
      const angle = ((Math.atan2(gy, gx) * 180) / Math.PI + 180) % 180;
      dir[i] = angle < 22.5 || angle >= 157.5 ? 0 : angle < 67.5 ? 1 : angle < 112.5 ? 2 : 3;
    }
  }
  // Non-maximum suppression: keep a pixel only if it is a maximum across the edge.
  const OFFSETS: [number, number][] = [
    [1, 0],
    [1, 1],
    [0, 1],
    [-1, 1],
  ];
  const thin = new Float32Array(n);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const m = mag[i];
      if (m < low) continue;
      const [dx, dy] = OFFSETS[dir[i]];
      const a = x + dx >= 0 && x + dx < width && y + dy >= 0 && y + dy < height ? mag[(y + dy) * width + x + dx] : 0;
      const b = x - dx >= 0 && x - dx < width && y - dy >= 0 && y - dy < height ? mag[(y - dy) * width + x - dx] : 0;
      // Ties break towards one side so a plateau gives a one-pixel line.
      if (m > a && m >= b) thin[i] = m;
    }
  }
  // Hysteresis: strong pixels seed edges that grow through 8-connected weak pixels.
  const out = new Uint8Array(n);
  const stack: number[] = [];
  for (let i = 0; i < n; i++) {
    if (thin[i] >= high && !out[i]) {
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
            if (!out[k] && thin[k] >= low) {
              out[k] = 255;
              stack.push(k);
            }
          }
        }
      }
    }
  }
  return out;
}

/** ITU-R BT.601 luma of interleaved RGB bytes. */
export function luma(rgb: ArrayLike<number>, pixels: number): Uint8Array {
  const out = new Uint8Array(pixels);
  for (let i = 0; i < pixels; i++) out[i] = Math.round(0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2]);
  return out;
}
