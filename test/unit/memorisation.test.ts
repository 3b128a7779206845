// The memorisation measures on synthetic sets whose answer is known: a "generator" that returns training targets
// with a little noise copies (a high copy rate, C_T well below 0), one that draws fresh samples of the training
// distribution does not (the held-out real images' copy rate, C_T near 0); Mann-Whitney against a textbook case;
// and the known limit of pixel distances, a copy moved by one pixel.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  copyRate,
  dataCopying,
  halvesAgreement,
  mannWhitney,
  nearestNeighbours,
  outputDiversity,
  rmsDistance,
} from '../../src/core/memorisation';
import { SeededRandom } from '../../src/core/random';

const rng = new SeededRandom(7);
/** A standard normal draw (Box-Muller). */
const normal = () => Math.sqrt(-2 * Math.log(1 - rng.next())) * Math.cos(2 * Math.PI * rng.next());
/** Images of a mixture of 4 blobs in 64 values: the structure k-means cells follow. */
const centres = Array.from({ length: 4 }, () => Float32Array.from({ length: 64 }, () => normal() * 0.5));
const draw = (n: number) =>
  Array.from({ length: n }, () => {
    const c = centres[Math.floor(rng.next() * centres.length)];
    return Float32Array.from(c, (v) => v + 0.2 * normal());
  });

describe('memorisation measures', () => {
  it("gives Mann-Whitney's U and z of a textbook case, ties as halves", () => {
    const { u, z } = mannWhitney([1, 2, 3], [4, 5, 6]);
    assert.equal(u, 0);
    assert.ok(Math.abs(z - -4.5 / Math.sqrt((9 * 7) / 12)) < 1e-12, `z ${z}`);
    assert.equal(mannWhitney([1, 2], [2, 3]).u, 0.5);
    assert.equal(mannWhitney([4, 5, 6], [1, 2, 3]).u, 9);
  });

  it('finds a copier: a high copy rate and C_T far below 0; fresh samples: the real rate and C_T near 0', () => {
    const train = draw(200);
    const heldOut = draw(100);
    const copies = Array.from({ length: 100 }, (_, i) => Float32Array.from(train[i * 2], (v) => v + 0.01 * normal()));
    const fresh = draw(100);
    const spacing = nearestNeighbours(train, train, true);
    const rate = (xs: Float32Array[]) => copyRate(nearestNeighbours(xs, train), spacing);
    assert.ok(rate(copies) > 0.95, `copier's copy rate ${rate(copies)}`);
    assert.ok(Math.abs(rate(fresh) - rate(heldOut)) < 0.15, `fresh ${rate(fresh)} against real ${rate(heldOut)}`);
    const copying = dataCopying(train, heldOut, copies);
    const none = dataCopying(train, heldOut, fresh);
    assert.ok(copying.cellsUsed >= 2 && none.cellsUsed >= 2);
    assert.ok(copying.ct! < -5, `copier's C_T ${copying.ct}`);
    assert.ok(Math.abs(none.ct!) < 2, `fresh samples' C_T ${none.ct}`);
  });

  it('misses a copy moved by one pixel: the known limit of distances in pixel space', () => {
    // 16x16 images of random +-1 pixels; the copies are training images rolled one pixel to the right.
    const image = () => Float32Array.from({ length: 256 }, () => (rng.next() < 0.5 ? -1 : 1));
    const train = Array.from({ length: 50 }, image);
    const roll = (a: Float32Array) => Float32Array.from(a, (_, i) => a[i - (i % 16) + (((i % 16) + 15) % 16)]);
    const spacing = nearestNeighbours(train, train, true);
    const rate = (xs: Float32Array[]) => copyRate(nearestNeighbours(xs, train), spacing);
    assert.equal(rate(train), 1, 'exact copies are caught');
    const moved = rate(train.map(roll));
    const fresh = rate(Array.from({ length: 50 }, image));
    // A rolled copy is as far from its original as a new image is from any: it scores as new images do.
    assert.ok(moved < 0.8 && Math.abs(moved - fresh) < 0.25, `moved copies ${moved}, new images ${fresh}`);
  });

  it('measures no diversity in identical outputs, and the expected spread in independent ones', () => {
    const same = Array.from({ length: 8 }, () => Float32Array.from({ length: 100 }, (_, i) => i / 100));
    const none = outputDiversity(same);
    assert.equal(none.meanDistance, 0);
    assert.ok(none.sd.every((v) => v === 0));
    // Two values per pixel, -1 or +1 at random: any two outputs differ by 2 on half the pixels (rms sqrt 2), and the
    // sd over 8 draws averages about 1.
    const coin = Array.from({ length: 8 }, () =>
      Float32Array.from({ length: 4000 }, () => (rng.next() < 0.5 ? -1 : 1)),
    );
    const spread = outputDiversity(coin);
    assert.ok(Math.abs(spread.meanDistance - Math.SQRT2) < 0.05, `mean distance ${spread.meanDistance}`);
    const meanSd = spread.sd.reduce((a, b) => a + b, 0) / spread.sd.length;
    assert.ok(Math.abs(meanSd - 1) < 0.1, `mean sd ${meanSd}`);
  });

  it('reads disjoint halves: shared outputs agree (ratio 0), independent errors of sd s give sqrt(2) s between', () => {
    const targets = draw(200);
    const noisy = (sd: number) => targets.map((t) => Float32Array.from(t, (v) => v + sd * normal()));
    const toTarget = (outs: Float32Array[]) => outs.map((o, i) => rmsDistance(o, targets[i]));
    const shared = noisy(0.1);
    const same = halvesAgreement(shared, shared, toTarget(shared), toTarget(shared))!;
    assert.equal(same.between, 0);
    assert.ok(Math.abs(same.toTarget - 0.1) < 0.005, `to the target ${same.toTarget}`);
    const [a, b] = [noisy(0.1), noisy(0.1)];
    const apart = halvesAgreement(a, b, toTarget(a), toTarget(b))!;
    assert.equal(apart.images, 200);
    assert.ok(Math.abs(apart.ratio - Math.SQRT2) < 0.03, `independent halves' ratio ${apart.ratio}`);
    assert.equal(halvesAgreement([], [], [], []), undefined);
  });

  it("counts the training set's average as a copy when the targets are few and far apart (a known limit)", () => {
    const few = Array.from({ length: 6 }, () => Float32Array.from({ length: 256 }, () => rng.next() * 2 - 1));
    const average = Float32Array.from(few[0], (_, i) => few.reduce((sum, t) => sum + t[i], 0) / few.length);
    const spacing = nearestNeighbours(few, few, true);
    assert.equal(copyRate(nearestNeighbours([average], few), spacing), 1, 'a flat output nearer than any two targets');
  });

  it('gives C_T far below 0 for new images of the training domain held out against another (a known limit)', () => {
    // Held-out images of another domain (a blob the training set lacks): outputs that are new images of the
    // training domain, copying nothing, are still nearer the training set than the held-out images are.
    const other = Float32Array.from({ length: 64 }, () => normal() * 0.5);
    const train = draw(200);
    const heldOut = Array.from({ length: 100 }, () => Float32Array.from(other, (v) => v + 0.2 * normal()));
    const { ct } = dataCopying(train, heldOut, draw(100), { cells: 1 });
    assert.ok(ct! < -5, `C_T of new in-domain images against another domain ${ct}`);
  });
});
