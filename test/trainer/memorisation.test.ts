// Memorisation on the embedded data, through the real trainer process: a tiny U-Net trained on six faces until it
// reproduces them reports a clearly higher copy rate and a lower C_T at its last evaluation than at its first
// (the direction, not the values: those depend on the drawings). The held-out images are faces of the same
// distribution (the split), so C_T compares like with like.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../support/tempDir';
import { ofType, startTrainer } from '../support/trainerRun';

const trainerJs = join(__dirname, '..', '..', 'dist', 'trainer.js');
const work = tempDir('p2p-memorise-');
const config = join(work, 'copy.p2p.yaml');
writeFileSync(
  config,
  `name: copy
input: { size: 16 }
generator: { filters: 8, levels: 4, dropout: { levels: [1] } }
discriminator: { patch: 8, filters: 4, layers: 2 }
train:
  data: { train: builtin:faces, transform: canny, split: 0.03 }
  batchSize: 2
  sampleEvery: 100
  diversityDraws: 4
  backend: wasm
  seed: 1
`,
);

describe('memorisation measured by the trainer', () => {
  it('finds a U-Net trained long on six faces copying them: the copy rate rises and C_T falls', async () => {
    const run = startTrainer(trainerJs, [
      '--builtin-root',
      join(work, 'data'),
      '--config',
      config,
      '--out',
      work,
      '--steps',
      '300',
    ]);
    assert.equal(await run.exit, 0, run.trainer.stderr);
    assert.equal(ofType(run.events, 'started')[0].payload.trainImages, 6);
    const evals = ofType(run.events, 'eval').map((e) => e.payload);
    const [first, last] = [evals[0].memorisation!, evals.at(-1)!.memorisation!];
    assert.ok(last.copyRate > first.copyRate + 0.3, `copy rate ${first.copyRate} -> ${last.copyRate}`);
    assert.ok(
      first.ct !== undefined && last.ct !== undefined && last.ct < first.ct - 2,
      `C_T ${first.ct} -> ${last.ct}`,
    );
    assert.ok(last.nnMedian < first.nnMedian, `median distance ${first.nnMedian} -> ${last.nnMedian}`);
    assert.ok(last.diversity! > 0 && last.draws === 4, 'dropout on level 1 draws different outputs');
    // The critic's scores at every evaluation: probabilities, and r_t in [-1, 1].
    for (const c of evals.map((e) => e.critic!)) {
      assert.ok(
        [c.train, c.test, c.generated].every((p) => p > 0 && p < 1),
        JSON.stringify(c),
      );
      assert.ok(c.rt >= -1 && c.rt <= 1 && (c.rv === undefined || Number.isFinite(c.rv)), JSON.stringify(c));
    }
    // The figures of the nearest training targets say which and how near, for the sample columns.
    const neighbours = ofType(run.events, 'sample')
      .filter((e) => e.payload.split === 'test-neighbours')
      .at(-1)!;
    const records = neighbours.payload.neighbours!;
    assert.equal(records.length, 5);
    assert.ok(records.every((r) => r.index >= 0 && r.index < 6 && r.rms > 0 && typeof r.copied === 'boolean'));
    // test-images.csv names each test image's neighbour; its distance is the figure's.
    const rows = readFileSync(join(ofType(run.events, 'finished')[0].payload.runDir, 'test-images.csv'), 'utf8')
      .trim()
      .split('\n')
      .filter((l) => l.startsWith(`${evals.at(-1)!.step},0,`));
    const [, , , nn, rms] = rows[0].split(',').map(Number);
    assert.equal(nn, records[0].index);
    assert.ok(Math.abs(rms - records[0].rms) < 1e-5);
  });
});
