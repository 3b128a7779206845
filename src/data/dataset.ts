// Input/target pairs for training, decoded with sharp: a folder of colour images (sub-folders allowed) whose
// inputs are derived as gray or Canny edges, or paired A|B images / A and B folders; a separate test folder or
// a seeded split. Corrupt files are reported and skipped; empty or missing folders are errors before training.

import { existsSync, readdirSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, extname, join, relative, resolve, sep } from 'node:path';
import { binaryBytes, dataBytes } from '../core/memory';
import type { Resize, ResolvedConfig } from '../core/config';
import type { SeededRandom } from '../core/random';
import { canny, luma } from './canny';
import { BUILTIN_SETS, ensureBuiltinSet, type BuiltinSet } from './synthetic';

export interface ImagePair {
  /** File name relative to its folder. */
  name: string;
  /** size x size x input channels, bytes. */
  input: Uint8Array;
  /** size x size x output channels, bytes. */
  target: Uint8Array;
}

export interface Dataset {
  train: ImagePair[];
  test: ImagePair[];
  /** Files that could not be decoded, with the reason. */
  skipped: { file: string; reason: string }[];
  /** Where each split came from, for the run log. */
  sources: { train: string; test: string };
}

export class DataError extends Error {}

const IMAGE_EXT = /\.(png|jpe?g|webp|gif|tiff?|avif)$/i;
/** A folder with more images than this is taken for the wrong one (`../../..`) rather than walked to its end. */
const MAX_IMAGES = 1_000_000;
/** The system's special file systems, never entered by a walk. */
const SPECIAL = /^\/(proc|sys|dev|run)(\/|$)/;

/**
 * The image files under `dir` in name order, sub-folders included. Links are followed only where they stay
 * inside `dir` (each real folder is walked once), special file systems are not entered, an unreadable sub-folder
 * is skipped (said in `skipped`); more than MAX_IMAGES is an error.
 */
export function listImages(dir: string, skipped: Dataset['skipped'] = []): string[] {
  const root = realpathSync(dir);
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
  const seen = new Set<string>();
  const out: string[] = [];
  const walk = (d: string, real: string) => {
    if (seen.has(real) || (SPECIAL.test(real) && !SPECIAL.test(root))) return;
    seen.add(real);
    let entries: Dirent[];
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch (e) {
      if (d === dir) throw e;
      skipped.push({
        file: d,
        reason: `folder not read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      });
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, entry.name);
      const target = entry.isSymbolicLink() ? linkInside(p, inside) : undefined;
      if (entry.isSymbolicLink() && !target) continue;
      if (entry.isDirectory() || target?.isDirectory) walk(p, target?.real ?? join(real, entry.name));
      else if (IMAGE_EXT.test(entry.name)) out.push(p);
      if (out.length > MAX_IMAGES)
        throw new DataError(
          `more than ${MAX_IMAGES.toLocaleString('en-US')} images under ${dir}: is it the right folder?`,
        );
    }
  };
  walk(dir, root);
  return out;
}

/** Where a link leads, when that is inside the walked folder; undefined for a link out of it or a broken one. */
function linkInside(p: string, inside: (real: string) => boolean): { real: string; isDirectory: boolean } | undefined {
  try {
    const real = realpathSync(p);
    return inside(real) ? { real, isDirectory: statSync(real).isDirectory() } : undefined;
  } catch {
    return undefined;
  }
}

/** Refuses a folder whose images would not fit in memory once decoded, before decoding any. */
function checkDataFits(config: ResolvedConfig, files: number, dir: string, maxBytes: number | undefined): void {
  const needs = dataBytes(config, files);
  if (maxBytes === undefined || needs <= maxBytes) return;
  throw new DataError(
    `${files.toLocaleString('en-US')} images in ${dir} at ${config.input.size}x${config.input.size} take ${binaryBytes(needs)} ` +
      `once decoded, more than the ${binaryBytes(maxBytes)} a data set may use here: lower \`input.size\` or use fewer images`,
  );
}

export interface DataOptions {
  /** Folder that relative data paths are resolved against (the config file's folder). */
  baseDir: string;
  /** Where the builtin synthetic sets are drawn and cached. */
  builtinRoot: string;
  rng: SeededRandom;
  /** The most the decoded images may take; a folder with more is refused before decoding. */
  maxBytes?: number;
}

async function folderOf(spec: string, key: string, options: DataOptions): Promise<string> {
  const builtin = /^builtin:(.+)$/.exec(spec);
  if (builtin) {
    const name = builtin[1];
    if (!(name in BUILTIN_SETS))
      throw new DataError(
        `\`${key}\`: unknown builtin set \`${name}\`; expected ${Object.keys(BUILTIN_SETS)
          .map((s) => `builtin:${s}`)
          .join(' or ')}`,
      );
    return ensureBuiltinSet(name as BuiltinSet, options.builtinRoot);
  }
  const dir = resolve(options.baseDir, spec);
  if (!existsSync(dir)) throw new DataError(`\`${key}\`: folder ${spec} does not exist (looked in ${dir})`);
  if (!statSync(dir).isDirectory()) throw new DataError(`\`${key}\`: ${spec} is not a folder`);
  return dir;
}

type Sharp = typeof import('sharp');
type CannySettings = ResolvedConfig['train']['data']['canny'];

/**
 * A colour image as size x size RGB bytes (alpha flattened on white, EXIF orientation applied): `squash`ed by
 * nearest neighbour as the seed's Keras `load_img` (PIL), or scaled to `cover` the square and centre-cropped.
 */
async function rgbOf(
  sharp: Sharp,
  file: string,
  size: number,
  resize: Resize,
  half?: 'left' | 'right',
): Promise<Uint8Array> {
  let img = sharp(file, { failOn: 'error' }).rotate();
  if (half) {
    const meta = await sharp(file, { failOn: 'error' }).metadata();
    const w = meta.width ?? 0;
    const h = meta.height ?? 0;
    if (w < 2 || h < 1) throw new Error(`cannot split a ${w}x${h} image into A|B halves`);
    const halfWidth = Math.floor(w / 2);
    img = sharp(file, { failOn: 'error' }).extract({
      left: half === 'left' ? 0 : halfWidth,
      top: 0,
      width: halfWidth,
      height: h,
    });
  }
  img = img.flatten({ background: '#ffffff' }).toColourspace('srgb');
  if (resize === 'cover') img = img.resize(size, size, { fit: 'cover' });
  const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`decoded to ${info.channels} channels, expected 3`);
  const rgb = new Uint8Array(data.buffer, data.byteOffset, data.length);
  return resize === 'cover' ? rgb : squashNearest(rgb, info.width, info.height, size);
}

/** RGB resampled to size x size by nearest neighbour as PIL's `resize(NEAREST)`: source pixel floor((x + 0.5) * w / size). */
function squashNearest(rgb: Uint8Array, width: number, height: number, size: number): Uint8Array {
  const out = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++) {
    const sy = Math.floor(((y + 0.5) * height) / size);
    for (let x = 0; x < size; x++) {
      const from = (sy * width + Math.floor(((x + 0.5) * width) / size)) * 3;
      out.set(rgb.subarray(from, from + 3), (y * size + x) * 3);
    }
  }
  return out;
}

/** Expands one gray channel to `channels` channels. */
function widen(gray: Uint8Array, channels: number): Uint8Array {
  if (channels === 1) return gray;
  const out = new Uint8Array(gray.length * channels);
  for (let i = 0; i < gray.length; i++) out.fill(gray[i], i * channels, (i + 1) * channels);
  return out;
}

function fromRgb(rgb: Uint8Array, pixels: number, channels: number): Uint8Array {
  return channels === 3 ? rgb : widen(luma(rgb, pixels), channels);
}

/** The network input derived from a colour target: its gray, or its Canny edges drawn black on white. */
function deriveInput(
  rgb: Uint8Array,
  size: number,
  transform: 'gray' | 'canny',
  channels: number,
  settings: CannySettings,
): Uint8Array {
  const gray = luma(rgb, size * size);
  if (transform === 'gray') return widen(gray, channels);
  const edges = canny(gray, size, size, { sigma: settings.blur, low: settings.low, high: settings.high });
  for (let i = 0; i < edges.length; i++) edges[i] = 255 - edges[i];
  return widen(edges, channels);
}

/**
 * Any image file as a run's generator sees it: resized as the config says, then its gray or Canny edges (or the
 * image itself for paired data) at the input's channels. `rgb` is the resized colour image.
 */
export async function inputOfImage(
  file: string,
  config: ResolvedConfig,
): Promise<{ rgb: Uint8Array; input: Uint8Array }> {
  const { default: sharp } = await import('sharp');
  const { size, channels } = config.input;
  const data = config.train.data;
  let rgb: Uint8Array;
  try {
    rgb = await rgbOf(sharp, file, size, data.resize);
  } catch (e) {
    throw new DataError(`cannot read ${file} as an image: ${(e as Error).message}`);
  }
  const input =
    data.transform === 'paired'
      ? fromRgb(rgb, size * size, channels)
      : deriveInput(rgb, size, data.transform, channels, data.canny);
  return { rgb, input };
}

type ReadRgb = (file: string, half?: 'left' | 'right') => Promise<Uint8Array>;

/** A folder's image pairs: `A/` and `B/` by name, side-by-side pairs, or targets with derived inputs. */
async function loadFolder(
  dir: string,
  config: ResolvedConfig,
  skipped: Dataset['skipped'],
  key: string,
  maxBytes: number | undefined,
): Promise<ImagePair[]> {
  const { default: sharp } = await import('sharp');
  const read: ReadRgb = (file, half) => rgbOf(sharp, file, config.input.size, config.train.data.resize, half);
  const split = config.train.data.transform === 'paired' && existsSync(join(dir, 'A')) && existsSync(join(dir, 'B'));
  const files = listImages(split ? join(dir, 'A') : dir, skipped);
  checkDataFits(config, files.length, dir, maxBytes);
  const pairs = split
    ? await loadAB(dir, files, config, read, skipped)
    : await loadImages(dir, files, config, read, skipped);
  if (!pairs.length) {
    const why = skipped.length
      ? `; ${skipped.length} file(s) could not be read, e.g. ${basename(skipped[0].file)}: ${skipped[0].reason}`
      : '';
    throw new DataError(`\`${key}\`: no usable images in ${dir}${why}`);
  }
  return pairs;
}

/** `A/NAME.*` (inputs) with `B/NAME.*` (targets). */
async function loadAB(
  dir: string,
  aFiles: string[],
  config: ResolvedConfig,
  read: ReadRgb,
  skipped: Dataset['skipped'],
) {
  const pixels = config.input.size * config.input.size;
  const [aDir, bDir] = [join(dir, 'A'), join(dir, 'B')];
  const bByName = new Map(listImages(bDir, skipped).map((f) => [relative(bDir, f).replace(extname(f), ''), f]));
  const pairs: ImagePair[] = [];
  for (const a of aFiles) {
    const name = relative(aDir, a).replace(extname(a), '');
    const b = bByName.get(name);
    if (!b) {
      skipped.push({ file: a, reason: `no B image named ${name}.* in ${bDir}` });
      continue;
    }
    try {
      const [ra, rb] = await Promise.all([read(a), read(b)]);
      pairs.push({
        name,
        input: fromRgb(ra, pixels, config.input.channels),
        target: fromRgb(rb, pixels, config.output.channels),
      });
    } catch (e) {
      skipped.push({ file: a, reason: (e as Error).message });
    }
  }
  return pairs;
}

/** Every image of the folder: side-by-side pairs (input left), or targets whose input is derived (Canny, gray). */
async function loadImages(
  dir: string,
  files: string[],
  config: ResolvedConfig,
  read: ReadRgb,
  skipped: Dataset['skipped'],
) {
  const { size, channels: inCh } = config.input;
  const outCh = config.output.channels;
  const { transform, canny: settings } = config.train.data;
  const pairs: ImagePair[] = [];
  for (const file of files) {
    const name = relative(dir, file);
    try {
      if (transform === 'paired') {
        const [ra, rb] = await Promise.all([read(file, 'left'), read(file, 'right')]);
        pairs.push({ name, input: fromRgb(ra, size * size, inCh), target: fromRgb(rb, size * size, outCh) });
      } else {
        const rgb = await read(file);
        const input = deriveInput(rgb, size, transform, inCh, settings);
        pairs.push({ name, input, target: fromRgb(rgb, size * size, outCh) });
      }
    } catch (e) {
      skipped.push({ file, reason: (e as Error).message.split('\n')[0] });
    }
  }
  return pairs;
}

export async function loadDataset(config: ResolvedConfig, options: DataOptions): Promise<Dataset> {
  if (![1, 3].includes(config.output.channels))
    throw new DataError(
      `\`output.channels\`: images give 1 (gray) or 3 (colour) channels, not ${config.output.channels}`,
    );
  if (![1, 3].includes(config.input.channels))
    throw new DataError(
      `\`input.channels\`: images give 1 (gray) or 3 (colour) channels, not ${config.input.channels}`,
    );
  const { data } = config.train;
  const skipped: Dataset['skipped'] = [];
  const trainDir = await folderOf(data.train, 'train.data.train', options);
  let train = await loadFolder(trainDir, config, skipped, 'train.data.train', options.maxBytes);
  let test: ImagePair[] = [];
  let testSource: string;
  if (data.test) {
    const testDir = await folderOf(data.test, 'train.data.test', options);
    test = await loadFolder(testDir, config, skipped, 'train.data.test', options.maxBytes);
    testSource = data.test;
  } else {
    const order = options.rng.shuffle(train.map((_, i) => i));
    const nTrain =
      train.length < 2 ? train.length : Math.min(train.length - 1, Math.max(1, Math.round(train.length * data.split)));
    test = order.slice(nTrain).map((i) => train[i]);
    train = order.slice(0, nTrain).map((i) => train[i]);
    testSource = `${Math.round((1 - data.split) * 100)}% of ${data.train} (seeded split)`;
  }
  const trainSource = data.half ? `${data.train} (half ${data.half} of 2)` : data.train;
  if (data.half) train = train.filter((_, i) => i % 2 === data.half! - 1);
  return { train, test, skipped, sources: { train: trainSource, test: testSource } };
}
