// Sample figures as in the seed: 3 rows (input / generated / target) by up to 5 columns, pixel-exact
// (nearest-neighbour scaling to at least 128 px per tile), written as PNG. The same grid draws the rows of the
// memorisation figures: the nearest training targets of those columns, and the spread of dropout draws.

import type { ImagePair } from '../data/dataset';
import type { Shapes } from './pix2pix';

const GAP = 2;

/** One tile: `channels` values per pixel (1 or 3 and more, RGB read from the first three), each turned to a byte. */
export interface Tile {
  values: ArrayLike<number>;
  channels: number;
  toByte: (v: number) => number;
}

/** Bytes as they are (a dataset's images). */
export const asBytes = (v: number) => v;
/** A generated image on [-1, 1]. */
const fromUnit = (v: number) => Math.max(0, Math.min(255, Math.round((v + 1) * 127.5)));
/** A per-pixel standard deviation on [-1, 1]: black for none, white for 0.5 and more. */
export const fromSpread = (v: number) => Math.max(0, Math.min(255, Math.round(v * 510)));

/** Rows of equally many tiles of `size` pixels, with white gaps, as PNG. */
export async function gridPng(rows: readonly Tile[][], size: number): Promise<Buffer> {
  const scale = Math.max(1, Math.floor(128 / size));
  const tile = size * scale;
  const cols = Math.max(...rows.map((r) => r.length));
  const width = cols * tile + (cols + 1) * GAP;
  const height = rows.length * tile + (rows.length + 1) * GAP;
  const rgb = Buffer.alloc(width * height * 3, 255);
  rows.forEach((row, r) =>
    row.forEach(({ values, channels, toByte }, c) => {
      const top = GAP + r * (tile + GAP);
      const left = GAP + c * (tile + GAP);
      const [g, b] = channels >= 3 ? [1, 2] : [0, 0];
      for (let y = 0; y < tile; y++)
        for (let x = 0; x < tile; x++) {
          const i = (Math.floor(y / scale) * size + Math.floor(x / scale)) * channels;
          const o = ((top + y) * width + left + x) * 3;
          rgb[o] = toByte(values[i]);
          rgb[o + 1] = toByte(values[i + g]);
          rgb[o + 2] = toByte(values[i + b]);
        }
    }),
  );
  const { default: sharp } = await import('sharp');
  return sharp(rgb, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
}

/** Generated images on [-1, 1], one tile each. */
export function unitTiles(images: Float32Array, count: number, channels: number): Tile[] {
  const per = images.length / Math.max(1, count);
  return Array.from({ length: count }, (_, c) => ({
    values: images.subarray(c * per, (c + 1) * per),
    channels,
    toByte: fromUnit,
  }));
}

/** The seed's figure: input, generated and target rows, a column per pair. */
export function samplePng(pairs: readonly ImagePair[], generated: Float32Array, shapes: Shapes): Promise<Buffer> {
  const { size, inChannels, outChannels } = shapes;
  return gridPng(
    [
      pairs.map((p) => ({ values: p.input, channels: inChannels, toByte: asBytes })),
      unitTiles(generated, pairs.length, outChannels),
      pairs.map((p) => ({ values: p.target, channels: outChannels, toByte: asBytes })),
    ],
    size,
  );
}
