// `p2p translate` through the real trainer process: images of any size and format through each run's transform and
// generator, written outside the run folders, the same pixels every time, and a clear error for a file that is not
// an image.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import type { Translation } from '../../src/protocol/trainer';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';

const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
const work = tempDir('p2p-translate-');
const env = { ...process.env, P2P_DATA_DIR: join(work, 'data') };
const p2p = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: work, env, encoding: 'utf8' });

/** Every file under a folder, relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort();
}

describe('p2p translate', () => {
  it('runs images of any size and format through two runs, outside their folders, the same pixels each time', async () => {
    for (const seed of [3, 4]) {
      writeFileSync(join(work, `m${seed}.p2p.yaml`), microConfig(0.5).replace('seed: 3', `seed: ${seed}`));
      execFileSync(process.execPath, [cli, 'train', `m${seed}.p2p.yaml`, '--steps', '20', '--out', 'runs'], {
        cwd: work,
        env,
      });
    }
    const runs = readdirSync(join(work, 'runs')).map((r) => join(work, 'runs', r));
    const before = runs.map(filesUnder);
    const images = join(work, 'images');
    mkdirSync(images);
    const noise = Buffer.from(Array.from({ length: 300 * 200 * 3 }, (_, i) => (i * 7919) % 256));
    await sharp(noise, { raw: { width: 300, height: 200, channels: 3 } })
      .jpeg()
      .toFile(join(images, 'wide.jpg'));
    await sharp(noise, { raw: { width: 200, height: 300, channels: 3 } })
      .webp()
      .toFile(join(images, 'tall.webp'));

    const first = p2p('translate', ...runs, '--image', images, '--out', 'first');
    assert.equal(first.status, 0, first.stderr);
    const t = JSON.parse(readFileSync(join(work, 'first', 'translation.json'), 'utf8')) as Translation;
    assert.deepEqual(
      t.images.map((i) => [i.name, i.outputs.length]),
      [
        ['tall.webp', 2],
        ['wide.jpg', 2],
      ],
    );
    for (const o of t.images.flatMap((i) => i.outputs)) {
      assert.equal(o.step, 20);
      assert.ok(o.output.startsWith(join(work, 'first')), 'written to the translations folder');
      const input = await sharp(o.input).raw().toBuffer({ resolveWithObject: true });
      assert.deepEqual([input.info.width, input.info.height], [16, 16]);
      assert.ok(
        [...input.data].every((v) => v === 0 || v === 255),
        'Canny edges, black on white',
      );
      const out = await sharp(o.output).metadata();
      assert.deepEqual([out.width, out.height, out.channels], [16, 16, 3]);
    }
    assert.deepEqual(runs.map(filesUnder), before, 'nothing written into the run folders');
    const two = t.images[0].outputs;
    assert.notDeepEqual(readFileSync(two[0].output), readFileSync(two[1].output), 'each run its own output');

    assert.equal(p2p('translate', ...runs, '--image', images, '--out', 'again').status, 0);
    for (const file of filesUnder(join(work, 'first')).filter((f) => f.endsWith('.png')))
      assert.deepEqual(readFileSync(join(work, 'again', file)), readFileSync(join(work, 'first', file)), file);

    // --neighbours: each output's nearest training target, named, as far from the output as printed.
    const near = p2p('translate', runs[0], '--image', images, '--out', 'near', '--neighbours');
    assert.equal(near.status, 0, near.stderr);
    const nearest = JSON.parse(readFileSync(join(work, 'near', 'translation.json'), 'utf8')) as Translation;
    for (const o of nearest.images.map((i) => i.outputs[0])) {
      const n = o.neighbour!;
      assert.match(
        near.stdout,
        new RegExp(`nearest training target #${n.index} ${n.name} \\(RMS ${n.rms.toFixed(3)}\\)`),
      );
      assert.ok(readdirSync(join(work, 'data', 'faces-v1')).includes(n.name), `${n.name} is a training face`);
      const [a, b] = await Promise.all([o.output, n.image].map((f) => sharp(f).raw().toBuffer()));
      const rms = Math.sqrt(a.reduce((s, v, i) => s + ((v - b[i]) / 127.5) ** 2, 0) / a.length);
      assert.ok(Math.abs(rms - n.rms) < 0.01, `RMS from the PNGs ${rms}, printed ${n.rms}`);
    }

    writeFileSync(join(images, 'notes.png'), 'not an image');
    const bad = p2p('translate', runs[0], '--image', join(images, 'notes.png'), '--out', 'bad');
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /p2p translate: cannot read .*notes\.png as an image: /);
  });
});
