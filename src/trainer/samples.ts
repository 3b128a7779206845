// Sample figures as in the seed: 3 rows (input / generated / target) by up to 5 columns, pixel-exact
// (nearest-neighbour scaling to at least 128 px per tile), written as PNG.

import type { ImagePair } from '../data/dataset';
import type { Shapes } from './pix2pix';

const GAP = 2;

export async function samplePng(pairs: readonly ImagePair[], generated: Float32Array, shapes: Shapes): Promise<Buffer> {
  const { size, inChannels, outChannels } = shapes;
  const scale = Math.max(1, Math.floor(128 / size));
  const tile = size * scale;
  const cols = pairs.length;
  const width = cols * tile + (cols + 1) * GAP;
  const height = 3 * tile + 4 * GAP;
  const rgb = Buffer.alloc(width * height * 3, 255);
  const put = (row: number, col: number, pixel: (i: number) => [number, number, number]) => {
    const top = GAP + row * (tile + GAP);
    const left = GAP + col * (tile + GAP);
    for (let y = 0; y < tile; y++) {
      for (let x = 0; x < tile; x++) {
        const [r, g, b] = pixel(Math.floor(y / scale) * size + Math.floor(x / scale));
        const o = ((top + y) * width + left + x) * 3;
        rgb[o] = r;
        rgb[o + 1] = g;
        rgb[o + 2] = b;
      }
    }
  };
  const bytes =
    (img: ArrayLike<number>, channels: number, toByte: (v: number) => number) =>
    (i: number): [number, number, number] =>
      channels >= 3
        ? [toByte(img[i * channels]), toByte(img[i * channels + 1]), toByte(img[i * channels + 2])]
        : [toByte(img[i * channels]), toByte(img[i * channels]), toByte(img[i * channels])];
  const fromUnit = (v: number) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
  const per = size * size * outChannels;
  pairs.forEach((p, c) => {
    put(
      0,
      c,
      bytes(p.input, inChannels, (v) => v),
    );
    put(1, c, bytes(generated.subarray(c * per, (c + 1) * per), outChannels, fromUnit));
    put(
      2,
      c,
      bytes(p.target, outChannels, (v) => v),
    );
  });
  const { default: sharp } = await import('sharp');
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}
