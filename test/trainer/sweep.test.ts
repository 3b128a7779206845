// Ablation sweeps through the real trainer process (dist/trainer.js): the queue, the report, and a sweep
// interrupted and continued.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { analyze } from '../../src/core/analysis';
import { SUMMARY_HEADER } from '../../src/runFolders/replicateStats';
import { readSweep } from '../../src/runFolders/sweepFolder';
import { commonSampleStep } from '../../src/sweep/report';
import { SweepRunner, type SweepEvent } from '../../src/sweep/runner';
import { tempDir } from '../support/tempDir';
import { microConfig } from '../support/micro';
import { assertReportOverSeeds } from '../support/overSeeds';

const root = join(__dirname, '..', '..');
const trainerPath = join(root, 'dist', 'trainer.js');
const work = tempDir('p2p-sweep-');
const builtinRoot = join(work, 'data');

// A 3-level U-Net at 16x16: progressive skip removal gives 3 variants (all, level 1 only, none).
const base = microConfig(0.1);

function write(name: string, text: string): string {
  const file = join(work, name);
  writeFileSync(file, text);
  return file;
}

describe('ablation sweeps through the trainer', () => {
  it('trains a 3-variant sweep and reports it', async () => {
    const file = write(
      'skips.p2p.yaml',
      `${base}ablation:\n  name: skips\n  steps: 12\n  progressiveSkips: shallowFirst\n`,
    );
    const events: SweepEvent[] = [];
    const outcome = await new SweepRunner({ file, out: join(work, 'runs'), trainerPath, builtinRoot }, (e) =>
      events.push(e),
    ).run();
    assert.deepEqual(outcome.completed.sort(), ['skips-1', 'skips-all', 'skips-none']);
    assert.deepEqual(outcome.failed, []);
    // Two cores, one-thread wasm: the second variant starts while the first trains.
    const capacity = events.find((e) => e.type === 'capacity');
    assert.ok(capacity && capacity.type === 'capacity');

    const state = readSweep(outcome.sweepDir)!;
    const graphs = analyze(readFileSync(file, 'utf8'), 'skips').sweep!.variants;
    assert.deepEqual(
      state.rows.map((r) => [r.variant, r.skips, r.dropout, r.params, r.status, r.step]),
      [
        ['skips-all', 'all', '1 @0.5', graphs[0].generator.totals.params, 'completed', 12],
        ['skips-1', '1', '1 @0.5', graphs[1].generator.totals.params, 'completed', 12],
        ['skips-none', 'none', '1 @0.5', graphs[2].generator.totals.params, 'completed', 12],
      ],
    );
    for (const r of state.rows) {
      for (const v of [r.trainL1, r.testL1, r.trainSsim, r.testSsim, r.imgPerSec])
        assert.ok(Number.isFinite(v), `${r.variant}: ${JSON.stringify(r)}`);
      assert.ok(Math.abs(r.gap! - (r.testL1! - r.trainL1!)) < 1e-9);
      assert.ok(r.seconds > 0);
    }
    // Same seed and data: the input and target rows of every variant's test figure are the same pixels.
    const rowsOf = async (png: string) => {
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      const third = (info.height / 3) * info.width * info.channels;
      return { input: data.subarray(0, third), target: data.subarray(2 * third) };
    };
    const figures = await Promise.all(
      state.plan.variants.map((v) => rowsOf(join(outcome.sweepDir, v.dir, 'samples', 'test-0000012.png'))),
    );
    for (const f of figures.slice(1)) {
      assert.ok(f.input.equals(figures[0].input) && f.target.equals(figures[0].target));
    }

    const md = readFileSync(join(outcome.sweepDir, 'report.md'), 'utf8');
    for (const r of state.rows)
      assert.match(
        md,
        new RegExp(
          `^\\| ${r.variant} \\| ${r.skips} \\| 1 @0\\.5 \\| ${r.params.toLocaleString('en-US')} \\| .* \\| ${r.testL1!.toFixed(3)} \\| .* \\| 12 steps \\|$`,
          'm',
        ),
      );
    // One seed: the differences from skips-all are paired by test image, recomputed here from test-images.csv.
    assert.match(md, /^## Paired by test image \(one seed\)$/m);
    assert.match(md, /seed variance is unmeasured/);
    const imageL1 = (dir: string) =>
      readFileSync(join(outcome.sweepDir, dir, 'test-images.csv'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => l.startsWith('12,'))
        .map((l) => Number(l.split(',')[2]));
    const [all, none] = [state.plan.variants[0].dir, state.plan.variants[2].dir].map(imageL1);
    assert.ok(all.length > 1 && all.length === none.length);
    const diffs = none.map((v, i) => v - all[i]);
    const mean = diffs.reduce((a, b) => a + b, 0) / diffs.length;
    const sd = Math.sqrt(diffs.reduce((a, d) => a + (d - mean) ** 2, 0) / (diffs.length - 1));
    const noneRow = md.split('\n').find((l) => l.startsWith('| skips-none | 1 |'))!;
    const deltaCell = noneRow.split(' | ')[SUMMARY_HEADER.indexOf('Δ test L1 [95% CI]')];
    const delta = deltaCell.match(/^([+−][\d.]+) \[([+−][\d.]+), ([+−][\d.]+)\] ‡$/)!;
    const num = (v: string) => Number(v.replace('−', '-'));
    assert.ok(Math.abs(num(delta[1]) - mean) < 1e-3, `Δ ${delta[0]} against ${mean}`);
    const half = (num(delta[3]) - num(delta[2])) / 2;
    assert.ok(
      half > 0 && half < (3 * sd) / Math.sqrt(diffs.length),
      `half-width ${half}, sd ${sd} over ${diffs.length}`,
    );
    const step = commonSampleStep(state)!;
    assert.equal(step, 12);
    const html = readFileSync(join(outcome.sweepDir, 'report.html'), 'utf8');
    assert.equal((html.match(/<svg /g) ?? []).length, 3, 'gap, forest plot and curves');
    const images = [...html.matchAll(/<img src="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(images.length, 6, 'test and train samples of every variant');
    for (const img of images) assert.ok(existsSync(join(outcome.sweepDir, decodeURI(img))), img);
    assert.ok(images.every((i) => i.endsWith('-0000012.png')));
    assert.match(readFileSync(join(outcome.sweepDir, 'gap.svg'), 'utf8'), /gap [+−]0\.\d{3}/);
  });

  it('trains each variant on two disjoint halves too (ablation.disjointHalves), compares their outputs and probes the skips', async () => {
    const file = write(
      'halves.p2p.yaml',
      `${base}ablation:\n  name: halves\n  steps: 12\n  dropoutLevels: [none]\n  disjointHalves: true\n  probeSkips: true\n`,
    );
    const outcome = await new SweepRunner({ file, out: join(work, 'runs'), trainerPath, builtinRoot }, () => {}).run();
    assert.deepEqual(outcome.failed, []);
    const state = readSweep(outcome.sweepDir)!;
    const [model, other] = state.plan.variants.slice(0, 2).map((v) => v.name);
    assert.deepEqual(
      state.plan.variants.map((v) => (v.half ? [v.name, v.half.half] : [v.name])),
      [[model], [other], [`${model}-half1`, 1], [`${model}-half2`, 2], [`${other}-half1`, 1], [`${other}-half2`, 2]],
    );
    // Each half trains on its own 100 of the 200 faces, the full runs on all; only the halves keep their outputs.
    const started = (dir: string) =>
      JSON.parse(readFileSync(join(outcome.sweepDir, dir, 'events.jsonl'), 'utf8').split('\n')[0]).payload;
    for (const v of state.plan.variants) {
      assert.equal(started(v.dir).trainImages, v.half ? 100 : 200, v.name);
      assert.equal(existsSync(join(outcome.sweepDir, v.dir, 'test-outputs.u8')), !!v.half, v.name);
    }
    const md = readFileSync(join(outcome.sweepDir, 'report.md'), 'utf8');
    assert.match(md, /^2 variants and 4 runs on disjoint halves of the training set of `halves\.p2p\.yaml`/m);
    const summary = md.slice(md.indexOf('## Paired by test image'), md.indexOf('## Disjoint halves'));
    assert.ok(!summary.includes('-half'), 'the half runs are not replicates in the table over seeds');
    for (const name of [model, other]) {
      const row = md.split('\n').find((l) => l.startsWith(`| ${name} | 100 |`));
      assert.ok(row, `${name}'s halves row in:\n${md}`);
      const [between, toTarget, ratio] = row
        .split(' | ')
        .slice(2)
        .map((c) => Number(c.replace(' |', '')));
      assert.ok(between > 0 && toTarget > 0 && Math.abs(ratio - between / toTarget) < 0.01, row);
    }
    // probeSkips: each full run's two skips probed beside it, and what each does in the report.
    for (const v of state.plan.variants)
      assert.equal(existsSync(join(outcome.sweepDir, 'probes', v.dir, 'probe.json')), !v.half, v.name);
    const effects = md.slice(md.indexOf('## What each skip does'), md.indexOf('## Runs'));
    for (const name of [model, other])
      for (const level of ['1 (2)', '2 (1)'])
        assert.match(
          effects,
          new RegExp(
            `^\\| ${name} \\| ${level.replace(/[()]/g, '\\$&')} \\| 1 \\| [+−]\\d\\.\\d{3} \\| [+−]\\d\\.\\d{3} \\|$`,
            'm',
          ),
        );
  });

  it('trains replicates (ablation.seeds) as ordinary runs: their own weights and masks, the base split', async () => {
    // No test folder: the test images are the held-out part of the faces, drawn by the split.
    const split = base.replace('test: builtin:garments, ', '');
    const file = write(
      'seeds.p2p.yaml',
      `${split}ablation:\n  name: seeds\n  steps: 4\n  seeds: 3\n  base: false\n  dropoutLevels: [none, all]\n`,
    );
    const outcome = await new SweepRunner({ file, out: join(work, 'runs'), trainerPath, builtinRoot }, () => {}).run();
    assert.deepEqual(outcome.completed.sort(), [
      'dropout-all-seed3',
      'dropout-all-seed4',
      'dropout-all-seed5',
      'dropout-none-seed3',
      'dropout-none-seed4',
      'dropout-none-seed5',
    ]);
    const state = readSweep(outcome.sweepDir)!;
    const rowsOf = async (png: string) => {
      const { data, info } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
      const third = (info.height / 3) * info.width * info.channels;
      return {
        input: data.subarray(0, third),
        generated: data.subarray(third, 2 * third),
        target: data.subarray(2 * third),
      };
    };
    const [a, b] = await Promise.all(
      state.plan.variants.slice(0, 2).map((v) => rowsOf(join(outcome.sweepDir, v.dir, 'samples', 'test-0000004.png'))),
    );
    assert.ok(a.input.equals(b.input) && a.target.equals(b.target), 'the same held-out images under both seeds');
    assert.ok(!a.generated.equals(b.generated), 'other weights, other outputs');
    const seeds = state.plan.variants.map(
      (v) => JSON.parse(readFileSync(join(outcome.sweepDir, v.dir, 'resolved.json'), 'utf8')).config.train,
    );
    assert.deepEqual(
      seeds.map((t) => [t.seed, t.data.splitSeed]),
      [
        [3, 3],
        [4, 3],
        [5, 3],
        [3, 3],
        [4, 3],
        [5, 3],
      ],
    );
    // The report's table over seeds, recomputed from the runs' metrics.csv (last evaluation, test L1).
    const md = readFileSync(join(outcome.sweepDir, 'report.md'), 'utf8');
    assert.match(md, /^2 variants × 3 seeds \(3, 4, 5\) = 6 runs of `seeds\.p2p\.yaml`/m);
    const verdicts = assertReportOverSeeds(outcome.sweepDir, state.plan, 'dropout-none');
    assert.equal(verdicts.get('dropout-none'), 'reference');
    const html = readFileSync(join(outcome.sweepDir, 'report.html'), 'utf8');
    assert.match(html, /<h2>Over seeds<\/h2>/);
    assert.match(html, /<svg [^>]*class="forest"/);
    assert.match(readFileSync(join(outcome.sweepDir, 'forest.svg'), 'utf8'), /data-variant="dropout-all"/);
  });

  it('continues an interrupted sweep without redoing finished variants, and records a failed one', async () => {
    const file = write(
      'resume.p2p.yaml',
      `${base}ablation:\n  name: resume\n  steps: 40\n  parallel: 1\n  base: false\n  dropoutLevels: [none, all]\n` +
        '  variants:\n    - name: broken\n      train: { data: { train: ./no-such-folder } }\n',
    );
    const out = join(work, 'runs');
    const first = new SweepRunner({ file, out, trainerPath, builtinRoot }, (e) => {
      // Stop once the first variant is done and the second has trained past its first checkpoint (every 10 steps).
      if (e.type === 'variant' && e.variant === 'dropout-all' && e.event.type === 'step' && e.event.payload.step === 15)
        first.stop();
    });
    const a = await first.run();
    assert.deepEqual(a.completed, ['dropout-none']);
    assert.deepEqual(a.stopped, ['dropout-all']);
    assert.deepEqual(a.pending, ['broken']);
    const doneEvents = readFileSync(join(a.sweepDir, 'dropout-none', 'events.jsonl'), 'utf8');
    assert.equal(readSweep(a.sweepDir)!.rows[1].status, 'stopped');

    const planned: SweepEvent[] = [];
    const starts: number[] = [];
    const b = await new SweepRunner({ file, out, trainerPath, builtinRoot }, (e) => {
      if (e.type === 'planned') planned.push(e);
      if (e.type === 'variant' && e.event.type === 'started') starts.push(e.event.payload.startStep);
    }).run();
    assert.deepEqual(planned[0].type === 'planned' && planned[0].variants, [
      { name: 'dropout-none', mode: 'done' },
      { name: 'dropout-all', mode: 'resume' },
      { name: 'broken', mode: 'new' },
    ]);
    assert.ok(starts[0] >= 15, `dropout-all resumed from its stop checkpoint, at ${starts[0]}`);
    assert.deepEqual(b.completed.sort(), ['dropout-all', 'dropout-none']);
    assert.deepEqual(b.failed, ['broken']);
    assert.equal(
      readFileSync(join(a.sweepDir, 'dropout-none', 'events.jsonl'), 'utf8'),
      doneEvents,
      'the finished variant was not touched',
    );
    const rows = readSweep(b.sweepDir)!.rows;
    assert.deepEqual(
      rows.map((r) => [r.variant, r.status, r.step]),
      [
        ['dropout-none', 'completed', 40],
        ['dropout-all', 'completed', 40],
        ['broken', 'failed', 0],
      ],
    );
    assert.match(rows[2].error!, /no-such-folder/);
    assert.match(readFileSync(join(b.sweepDir, 'report.md'), 'utf8'), /- `broken` failed: .*no-such-folder/);

    // Editing a variant after it ran is refused rather than mixed into the same table.
    writeFileSync(
      file,
      readFileSync(file, 'utf8')
        .replace('dropoutLevels: [none, all]', 'dropoutLevels: [none, all]\n  grid: { train.seed: [3] }')
        .replace('seed: 3\n', 'seed: 4\n'),
    );
    await assert.rejects(new SweepRunner({ file, out, trainerPath, builtinRoot }).run(), /changed since they ran/);
  });
});
