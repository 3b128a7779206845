// `ablation.seeds`: every variant trained once per seed, each replicate an ordinary variant run (so the queue, the
// SLURM array, stop, resume and the changed-config refusal work per replicate), with the base's data split.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { analyze } from '../../src/core/analysis';
import { modelVariants, runsLabel } from '../../src/core/sweep';
import type { RunState } from '../../src/protocol/runs';
import { selectedEval } from '../../src/runFolders/sweepFolder';
import { hover } from '../../src/server/service/hover';
import { codeLenses } from '../../src/server/service/outline';

const BASE = `name: micro
input: { size: 16 }
generator: { filters: 4, levels: 3 }
discriminator: { patch: 8, filters: 4, layers: 2 }
train: { seed: 7, data: { train: builtin:faces, split: 0.8 } }
`;

const sweepOf = (ablation: string) => {
  const a = analyze(`${BASE}ablation:\n${ablation}`);
  assert.deepEqual(
    a.diagnostics.filter((d) => d.severity === 'error'),
    [],
  );
  return a;
};

describe('ablation replicates', () => {
  it('trains each variant once per seed, from train.seed on, with the base split', () => {
    const { sweep } = sweepOf('  seeds: 3\n  base: false\n  dropoutLevels: [none, all]\n');
    assert.deepEqual(sweep!.seeds, [7, 8, 9]);
    assert.deepEqual(
      sweep!.variants.map((v) => [v.name, v.replicate?.of, v.config.train.seed, v.config.train.data.splitSeed]),
      [
        ['dropout-none-seed7', 'dropout-none', 7, 7],
        ['dropout-none-seed8', 'dropout-none', 8, 7],
        ['dropout-none-seed9', 'dropout-none', 9, 7],
        ['dropout-all-seed7', 'dropout-all', 7, 7],
        ['dropout-all-seed8', 'dropout-all', 8, 7],
        ['dropout-all-seed9', 'dropout-all', 9, 7],
      ],
    );
    // The config file each run trains says the same as its resolved config.
    for (const v of sweep!.variants) {
      const run = analyze(v.text);
      assert.equal(run.config.name, v.name);
      assert.equal(run.config.train.seed, v.config.train.seed);
      assert.equal(run.config.train.data.splitSeed, 7);
      assert.deepEqual(run.config.generator, v.config.generator);
      assert.equal(parse(v.text).ablation, undefined);
    }
    assert.deepEqual(
      modelVariants(sweep!.variants).map((v) => v.name),
      ['dropout-none', 'dropout-all'],
    );
    assert.equal(runsLabel(sweep!), '2 variants × 3 seeds = 6 runs');
  });

  it('takes a list of seeds; one seed or none trains each variant once', () => {
    assert.deepEqual(sweepOf('  seeds: [3, 11]\n  dropoutLevels: [none]\n').sweep!.seeds, [3, 11]);
    for (const seeds of ['  seeds: 1\n', '  seeds: [5]\n', '']) {
      const { sweep } = sweepOf(`${seeds}  dropoutLevels: [none]\n`);
      assert.deepEqual(sweep!.seeds, []);
      assert.ok(sweep!.variants.every((v) => !v.replicate));
      assert.equal(runsLabel(sweep!), '2 variants');
    }
    assert.ok(analyze(`${BASE}ablation:\n  seeds: 0\n`).diagnostics.some((d) => d.severity === 'error'));
  });

  it('adds two runs per variant on the disjoint halves of the training set, at the base seed and split', () => {
    const { sweep } = sweepOf('  seeds: 2\n  base: false\n  dropoutLevels: [none]\n  disjointHalves: true\n');
    assert.deepEqual(
      sweep!.variants.map((v) => [v.name, v.half?.half, v.config.train.data.half, v.config.train.seed]),
      [
        ['dropout-none-seed7', undefined, undefined, 7],
        ['dropout-none-seed8', undefined, undefined, 8],
        ['dropout-none-half1', 1, 1, 7],
        ['dropout-none-half2', 2, 2, 7],
      ],
    );
    for (const v of sweep!.variants.filter((v) => v.half))
      assert.equal(analyze(v.text).config.train.data.half, v.half!.half);
    assert.deepEqual(
      modelVariants(sweep!.variants).map((v) => v.name),
      ['dropout-none'],
    );
    assert.equal(runsLabel(sweep!), '1 variant × 2 seeds = 2 runs + 2 on disjoint halves');
  });

  it("selects each run's last evaluation, or with select: best its lowest test L1", () => {
    assert.equal(sweepOf('  dropoutLevels: [none]\n').sweep!.select, 'last');
    assert.equal(sweepOf('  select: best\n  dropoutLevels: [none]\n').sweep!.select, 'best');
    const q = (l1: number) => ({ l1, psnr: 20, ssim: 0.5 });
    const evals = [0.5, 0.3, 0.4].map((l1, i) => ({
      step: i * 10,
      epoch: i,
      train: q(0.2),
      test: q(l1),
      gap: q(l1 - 0.2),
    }));
    const run = { evals, lastEval: evals[2], bestStep: 10 } as unknown as RunState;
    assert.equal(selectedEval(run, 'last')?.step, 20);
    assert.equal(selectedEval(run, undefined)?.step, 20, 'sweeps planned before select: the last');
    assert.equal(selectedEval(run, 'best')?.step, 10);
  });

  it('counts the runs in the hover over `ablation:` and in its code lens, one row per variant', () => {
    const text = `${BASE}ablation:\n  seeds: 3\n  dropoutLevels: [none, all]\n`;
    const a = analyze(text);
    const markdown = hover(a, text.indexOf('ablation:') + 2)?.markdown ?? '';
    // The base trains what dropout-all trains (3 levels: decoder levels 1 and 2, both with dropout).
    assert.match(markdown, /2 variants × 3 seeds = 6 runs \(seeds 7, 8, 9\)/);
    assert.equal(markdown.match(/^\| dropout-none \|/gm)?.length, 1);
    assert.equal(markdown.match(/^\| dropout-/gm)?.length, 2);
    const lens = codeLenses(a).find((l) => l.part === 'ablation');
    assert.equal(lens?.title, '$(beaker) Run Ablation: 2 variants × 3 seeds = 6 runs');
  });
});
