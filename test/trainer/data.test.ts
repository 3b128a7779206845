import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { BUILTIN_SETS, ensureBuiltinSet } from '../../src/data/synthetic';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { analyze } from '../../src/core/analysis';
import { canny } from '../../src/data/canny';
import { DataError, listImages, loadDataset } from '../../src/data/dataset';
import { quality, ssimPlane } from '../../src/trainer/metrics';
import { SeededRandom } from '../../src/core/random';
import { tempDir } from '../support/tempDir';

const scratch = tempDir('p2p-data-');
const tmp = () => mkdtempSync(join(scratch, 'case-'));
const solid = (w: number, h: number, rgb: [number, number, number]) =>
  sharp({ create: { width: w, height: h, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } });
const configFor = (yaml: string) => {
  const a = analyze(yaml);
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  return a.config;
};
const load = (dir: string, yaml: string) =>
  loadDataset(configFor(yaml), { baseDir: dir, builtinRoot: join(dir, 'builtin'), rng: new SeededRandom(1) });

describe('Canny', () => {
  it('makes a builtin set once when several processes ask at the same time, never replacing it under a reader', async () => {
    const root = mkdtempSync(join(tmpdir(), 'p2p-builtin-'));
    const asks = [0, 1, 2].map(() => ensureBuiltinSet('faces', root));
    const first = await Promise.race(asks);
    const inode = statSync(first).ino;
    const dirs = await Promise.all(asks);
    assert.deepEqual(new Set(dirs), new Set([first]));
    assert.equal(statSync(first).ino, inode, 'the set the first caller read is the one that stays');
    assert.equal(readdirSync(first).length, BUILTIN_SETS.faces);
    assert.deepEqual(readdirSync(root), ['faces-v' + first.split('-v').pop()], 'no copies left behind');
  });

  it('finds the outline of a square and nothing inside or outside it', () => {
    const w = 32;
    const img = new Uint8Array(w * w);
    for (let y = 10; y < 22; y++) for (let x = 10; x < 22; x++) img[y * w + x] = 255;
    const edges = canny(img, w, w);
    let onBorder = 0;
    for (let y = 0; y < w; y++) {
      for (let x = 0; x < w; x++) {
        if (!edges[y * w + x]) continue;
        const nearVertical = (Math.abs(x - 9.5) <= 1.5 || Math.abs(x - 21.5) <= 1.5) && y >= 8 && y <= 23;
        const nearHorizontal = (Math.abs(y - 9.5) <= 1.5 || Math.abs(y - 21.5) <= 1.5) && x >= 8 && x <= 23;
        assert.ok(nearVertical || nearHorizontal, `edge pixel (${x}, ${y}) is off the square's outline`);
        onBorder++;
      }
    }
    for (const [x, y] of [
      [9, 15],
      [21, 15],
      [15, 9],
      [15, 21],
    ] as const) {
      assert.ok(
        edges[y * w + x] || edges[y * w + x + 1] || edges[(y + 1) * w + x],
        `an edge near (${x}, ${y}) on each side`,
      );
    }
    assert.ok(onBorder >= 40 && onBorder <= 60, `one-pixel outline (${onBorder} pixels)`);
  });

  it('gives no edges on a flat image and a one-pixel line on a step', () => {
    assert.equal(
      canny(new Uint8Array(400).fill(128), 20, 20).reduce((a, b) => a + b, 0),
      0,
    );
    const step = new Uint8Array(20 * 20);
    for (let y = 0; y < 20; y++) for (let x = 10; x < 20; x++) step[y * 20 + x] = 200;
    const edges = canny(step, 20, 20);
    for (let y = 0; y < 20; y++) {
      const xs = [...Array(20).keys()].filter((x) => edges[y * 20 + x]);
      assert.equal(xs.length, 1, `row ${y}: ${xs}`);
      assert.ok(xs[0] === 9 || xs[0] === 10);
    }
  });

  it('keeps weak edges connected to strong ones (hysteresis) and drops isolated weak ones', () => {
    const w = 40;
    const img = new Uint8Array(w * w);
    for (let y = 0; y < w; y++) for (let x = 20; x < w; x++) img[y * w + x] = y < 20 ? 200 : 40; // strong then weak step
    for (let y = 30; y < 36; y++) for (let x = 5; x < 8; x++) img[y * w + x] = 30; // an isolated weak blob
    const edges = canny(img, w, w, { sigma: 1, low: 40, high: 120 });
    assert.ok(edges[25 * w + 19] || edges[25 * w + 20], 'the weak part of the line survives through its strong part');
    for (let y = 28; y < 38; y++)
      for (let x = 2; x < 11; x++) assert.equal(edges[y * w + x], 0, `isolated weak edge at (${x}, ${y})`);
  });
});

describe("the seed's Canny input", () => {
  it('agrees with OpenCV on real photographs: squashed to 128 by nearest neighbour, gray, Canny(gray, 128, 128)', async () => {
    // test/fixtures/canny: scikit-image's sample photographs and the edges the seed's pipeline (PIL, OpenCV) made
    // of them (scripts/cannyFixtures.py). The config is empty: these are the defaults.
    const fixtures = join(__dirname, '..', 'fixtures', 'canny');
    const dir = tmp();
    mkdirSync(join(dir, 'photos'));
    const names = ['astronaut', 'coffee', 'chelsea'];
    for (const n of names) copyFileSync(join(fixtures, `${n}.png`), join(dir, 'photos', `${n}.png`));
    const data = await load(dir, 'train:\n  data: { train: photos, test: photos }\n');
    for (const n of names) {
      const ours = data.test.find((p) => p.name === `${n}.png`)!.input;
      const theirs = await sharp(join(fixtures, `${n}.edges.png`))
        .grayscale()
        .raw()
        .toBuffer();
      let both = 0;
      let either = 0;
      for (let i = 0; i < 128 * 128; i++) {
        both += Number(ours[i] === 0 && theirs[i] === 0);
        either += Number(ours[i] === 0 || theirs[i] === 0);
      }
      assert.ok(either > 1000, `${n}: an edge map, not a blank one`);
      assert.ok(both / either >= 0.95, `${n}: edge-pixel IoU ${(both / either).toFixed(4)} with OpenCV`);
    }
  });
});

describe('data pipeline', () => {
  it('derives gray and Canny inputs from colour images, in sub-folders too', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'imgs/sub'), { recursive: true });
    await solid(40, 40, [255, 0, 0]).png().toFile(join(dir, 'imgs/red.png'));
    await solid(16, 16, [0, 0, 255]).jpeg().toFile(join(dir, 'imgs/sub/blue.jpg'));
    const gray = await load(
      dir,
      'input: { size: 16 }\ngenerator: { levels: 4 }\ndiscriminator: { patch: 16 }\ntrain:\n  data: { train: imgs, transform: gray, split: 0.5 }\n',
    );
    const all = [...gray.train, ...gray.test].sort((a, b) => a.name.localeCompare(b.name));
    assert.deepEqual(
      all.map((p) => p.name),
      ['red.png', 'sub/blue.jpg'],
    );
    assert.equal(all[0].input.length, 16 * 16);
    assert.equal(all[0].input[0], 76); // BT.601 luma of pure red
    assert.deepEqual([...all[0].target.slice(0, 3)], [255, 0, 0]);
    const edges = await load(
      dir,
      'input: { size: 16, channels: 3 }\ngenerator: { levels: 4 }\ndiscriminator: { patch: 16 }\ntrain:\n  data: { train: imgs, transform: canny }\n',
    );
    const flat = [...edges.train, ...edges.test][0];
    assert.equal(flat.input.length, 16 * 16 * 3);
    assert.ok(
      flat.input.every((v) => v === 255),
      'a flat image has no edges: all white',
    );
  });

  it('reads A|B side-by-side images and A/ B/ folders matched by name', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'ab'));
    const ab = await sharp({ create: { width: 64, height: 32, channels: 3, background: '#000' } })
      .composite([
        { input: await solid(32, 32, [0, 255, 0]).png().toBuffer(), left: 0, top: 0 },
        { input: await solid(32, 32, [0, 0, 255]).png().toBuffer(), left: 32, top: 0 },
      ])
      .png()
      .toBuffer();
    writeFileSync(join(dir, 'ab/one.png'), ab);
    const yaml = (train: string) =>
      'input: { size: 16, channels: 3 }\ngenerator: { levels: 4 }\ndiscriminator: { patch: 16 }\n' +
      `train:\n  data: { train: ${train}, transform: paired, split: 1 }\n`;
    const sideBySide = await load(dir, yaml('ab'));
    assert.deepEqual([...sideBySide.train[0].input.slice(0, 3)], [0, 255, 0]);
    assert.deepEqual([...sideBySide.train[0].target.slice(0, 3)], [0, 0, 255]);
    mkdirSync(join(dir, 'folders/A'), { recursive: true });
    mkdirSync(join(dir, 'folders/B'), { recursive: true });
    await solid(20, 20, [10, 20, 30]).png().toFile(join(dir, 'folders/A/x.png'));
    await solid(20, 20, [200, 100, 50]).jpeg({ quality: 100 }).toFile(join(dir, 'folders/B/x.jpg'));
    await solid(20, 20, [1, 2, 3]).png().toFile(join(dir, 'folders/A/orphan.png'));
    const folders = await load(dir, yaml('folders'));
    assert.equal(folders.train.length, 1);
    assert.deepEqual([...folders.train[0].input.slice(0, 3)], [10, 20, 30]);
    assert.ok(Math.abs(folders.train[0].target[0] - 200) <= 2);
    assert.match(folders.skipped[0].reason, /no B image named orphan/);
  });

  it('splits with a seed, and uses a separate test folder when given', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'many'));
    mkdirSync(join(dir, 'other'));
    for (let i = 0; i < 10; i++)
      await solid(8, 8, [i * 20, 0, 0])
        .png()
        .toFile(join(dir, `many/${i}.png`));
    await solid(8, 8, [0, 9, 0]).png().toFile(join(dir, 'other/t.png'));
    const yaml =
      'input: { size: 8 }\ngenerator: { levels: 3 }\ndiscriminator: { patch: 8 }\ntrain:\n  data: { train: many, split: 0.8, transform: gray }\n';
    const a = await load(dir, yaml);
    const b = await load(dir, yaml);
    assert.equal(a.train.length, 8);
    assert.equal(a.test.length, 2);
    assert.deepEqual(
      a.test.map((p) => p.name),
      b.test.map((p) => p.name),
      'the same seed gives the same split',
    );
    assert.equal(new Set([...a.train, ...a.test].map((p) => p.name)).size, 10);
    const cross = await load(dir, yaml.replace('split: 0.8', 'test: other'));
    assert.equal(cross.train.length, 10);
    assert.deepEqual(
      cross.test.map((p) => p.name),
      ['t.png'],
    );
  });

  it('reports a corrupt file by name and skips it', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'imgs'));
    await solid(8, 8, [1, 2, 3]).png().toFile(join(dir, 'imgs/good.png'));
    writeFileSync(join(dir, 'imgs/broken.png'), 'this is not a PNG');
    const d = await load(
      dir,
      'input: { size: 8 }\ngenerator: { levels: 3 }\ndiscriminator: { patch: 8 }\ntrain:\n  data: { train: imgs, split: 1, transform: gray }\n',
    );
    assert.deepEqual(
      d.train.map((p) => p.name),
      ['good.png'],
    );
    assert.equal(d.skipped.length, 1);
    assert.match(d.skipped[0].file, /broken\.png$/);
  });

  it('fails before training on an empty or missing folder', async () => {
    const dir = tmp();
    mkdirSync(join(dir, 'empty'));
    writeFileSync(join(dir, 'empty/readme.txt'), 'no images here');
    const yaml = (train: string) =>
      `input: { size: 8 }\ngenerator: { levels: 3 }\ndiscriminator: { patch: 8 }\ntrain:\n  data: { train: ${train} }\n`;
    await assert.rejects(
      load(dir, yaml('empty')),
      (e: Error) => e instanceof DataError && /`train.data.train`: no usable images in .*empty/.test(e.message),
    );
    await assert.rejects(
      load(dir, yaml('nowhere')),
      (e: Error) => e instanceof DataError && /folder nowhere does not exist/.test(e.message),
    );
    await assert.rejects(load(dir, yaml('builtin:cats')), /unknown builtin set `cats`/);
  });
});

describe('metrics', () => {
  it('gives SSIM 1 and PSNR 100 for identical images, and known values otherwise', () => {
    const a = Float32Array.from({ length: 16 * 16 * 3 }, (_, i) => Math.sin(i) * 0.9);
    const q = quality(a, a, 1, 16, 3);
    assert.equal(q.l1, 0);
    assert.equal(q.psnr, 100);
    assert.ok(Math.abs(q.ssim - 1) < 1e-6);
    const shifted = a.map((v) => v + 0.2); // 0.1 on the [0, 1] scale: MSE 0.01, PSNR 20 dB
    const q2 = quality(shifted, a, 1, 16, 3);
    assert.ok(Math.abs(q2.l1 - 0.2) < 1e-6);
    assert.ok(Math.abs(q2.psnr - 20) < 1e-4);
    const noise = Float32Array.from({ length: 32 * 32 }, (_, i) => ((i * 7919) % 101) / 101);
    const flat = new Float32Array(32 * 32).fill(0.5);
    assert.ok(ssimPlane(noise, flat, 32, 32) < 0.1, 'structure lost: low SSIM');
  });
});

describe('walking a data folder', () => {
  it('follows links only inside the folder and refuses a set that cannot fit before decoding it', async () => {
    const dir = tmp();
    const outside = tmp();
    mkdirSync(join(dir, 'sub'));
    for (const [folder, name] of [
      [dir, 'a.png'],
      [join(dir, 'sub'), 'b.png'],
      [outside, 'far.png'],
    ])
      await solid(8, 8, [200, 10, 10]).png().toFile(join(folder, name));
    symlinkSync(join(outside, 'far.png'), join(dir, 'out-link.png'));
    symlinkSync(outside, join(dir, 'out-folder'));
    symlinkSync(join(dir, 'sub'), join(dir, 'in-folder'));
    symlinkSync(dir, join(dir, 'sub', 'loop'));
    const listed = listImages(dir).map((f) => relative(dir, f));
    // The link out (a file, a folder) is not followed; sub/ is walked once, through the link that comes first.
    assert.deepEqual(listed, ['a.png', join('in-folder', 'b.png')]);
    const yaml = 'input: { size: 16 }\ntrain: { data: { train: ., transform: gray } }\n';
    const config = configFor(yaml);
    const options = { baseDir: dir, builtinRoot: join(dir, 'builtin'), rng: new SeededRandom(1) };
    // 2 images at 16x16, 1 + 3 channels: 2048 bytes.
    await assert.rejects(loadDataset(config, { ...options, maxBytes: 2000 }), (e: Error) => {
      assert.ok(e instanceof DataError);
      assert.match(
        e.message,
        /2 images in .* at 16x16 take 2\.0 KiB once decoded, more than the 2\.0 KiB a data set may use/,
      );
      return true;
    });
    const loaded = await loadDataset(config, { ...options, maxBytes: 2048 });
    assert.equal(loaded.train.length + loaded.test.length, 2);
  });

  it(
    'skips an unreadable sub-folder with a warning instead of failing',
    { skip: process.getuid?.() === 0 ? 'root reads every folder' : false },
    async () => {
      const dir = tmp();
      mkdirSync(join(dir, 'locked'));
      await solid(8, 8, [10, 200, 10]).png().toFile(join(dir, 'a.png'));
      chmodSync(join(dir, 'locked'), 0);
      const skipped: { file: string; reason: string }[] = [];
      assert.deepEqual(
        listImages(dir, skipped).map((f) => relative(dir, f)),
        ['a.png'],
      );
      chmodSync(join(dir, 'locked'), 0o755);
      assert.match(skipped[0].reason, /folder not read \(EACCES\)/);
    },
  );
});
