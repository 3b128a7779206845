// A run's skip probe in the runs panel: probe.json read back beside the run (its figures in its own folder, a torn or
// foreign file nothing), the dose-response series per mode and split, the button by the run's state, and the output
// rows captioned with each skip's test L1 at alpha = 0 against the unmodified model's.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Probe, ProbeDose } from '../../src/protocol/trainer';
import { probeMtime, probesDir, readProbe } from '../../src/runFolders/probes';
import type { PanelRun } from '../../src/protocol/panel';
import { doseSeries, probeButton, probeFigures, probeSection } from '../../webview/probeView';
import { tempDir } from '../support/tempDir';

const scratch = tempDir('p2p-probe-view-');
const q = (l1: number) => ({ l1, psnr: 20, ssim: 0.5 });
const ALPHAS = [0, 0.25, 0.5, 0.75, 1];

/** Two skips; level 1 matters (L1 0.5 at alpha 0), level 2 hardly (0.31); the mean mode costs half as much. */
function probe(figures = '/elsewhere/probes/run'): Probe {
  const skips = [
    { level: 1, encoderLevel: 4, channels: 64 },
    { level: 2, encoderLevel: 3, channels: 32 },
  ];
  const at0 = { 1: 0.5, 2: 0.31 } as Record<number, number>;
  const doses: ProbeDose[] = skips.flatMap((s) =>
    (['scale', 'mean'] as const).flatMap((mode) =>
      // Out of order on purpose: the curves are drawn by alpha.
      [...ALPHAS].reverse().map((alpha) => {
        const cost = ((at0[s.level] - 0.3) * (1 - alpha)) / (mode === 'mean' ? 2 : 1);
        return { level: s.level, mode, alpha, train: q(0.2 + cost / 2), test: q(0.3 + cost) };
      }),
    ),
  );
  return {
    run: '/elsewhere/run',
    step: 240,
    evalMode: 'training',
    images: { train: 16, test: 100 },
    alphas: ALPHAS,
    skips,
    unmodified: { train: q(0.2), test: q(0.3) },
    doses,
    figures: {
      unmodified: `${figures}/unmodified.png`,
      alphaZero: skips.flatMap((s) =>
        (['scale', 'mean'] as const).map((mode) => ({
          level: s.level,
          mode,
          image: `${figures}/level-${s.level}-${mode}-alpha0.png`,
        })),
      ),
    },
  };
}

const run = (over: Partial<PanelRun> = {}): PanelRun =>
  ({ id: 'e2e/skips-all', status: 'completed', step: 240, checkpointed: true, ...over }) as unknown as PanelRun;

describe("a run's skip probe read back", () => {
  it('reads probes/<run>/probe.json beside the run, its figures in that folder wherever they were written', () => {
    const dir = join(scratch, 'runs', '20261202-tiny');
    mkdirSync(dir, { recursive: true });
    assert.equal(probesDir(dir), join(scratch, 'runs', 'probes', '20261202-tiny'));
    assert.equal(readProbe(dir), undefined, 'no probe yet');
    assert.equal(probeMtime(dir), undefined);
    mkdirSync(probesDir(dir), { recursive: true });
    writeFileSync(join(probesDir(dir), 'probe.json'), JSON.stringify(probe()));
    const read = readProbe(dir)!;
    assert.equal(read.step, 240);
    assert.equal(read.figures.unmodified, join(probesDir(dir), 'unmodified.png'));
    assert.deepEqual(
      read.figures.alphaZero.map((f) => f.image),
      ['1-scale', '1-mean', '2-scale', '2-mean'].map((k) => join(probesDir(dir), `level-${k}-alpha0.png`)),
    );
    assert.ok(probeMtime(dir)! > 0);
  });

  it('gives nothing for a torn or foreign probe.json, never a throw', () => {
    const dir = join(scratch, 'runs', '20261202-torn');
    mkdirSync(probesDir(dir), { recursive: true });
    const text = JSON.stringify(probe());
    const { doses: _doses, ...noDoses } = probe();
    for (const bad of [text.slice(0, text.length / 2), 'null', '[]', JSON.stringify(noDoses), '{"step": "240"}']) {
      writeFileSync(join(probesDir(dir), 'probe.json'), bad);
      assert.equal(readProbe(dir), undefined, bad.slice(0, 40));
    }
  });
});

describe('the skip probe in the runs panel', () => {
  it('draws one curve per skip over alpha, test or train L1, and the unmodified L1 dashed', () => {
    const p = probe();
    const scale = doseSeries(p, 'scale', 'test');
    assert.deepEqual(
      scale.map((s) => s.name),
      ['level 1 (encoder 4)', 'level 2 (encoder 3)', 'unmodified'],
    );
    assert.deepEqual(
      scale[0].points.map(([a]) => a),
      ALPHAS,
    );
    assert.deepEqual(scale[0].points[0], [0, 0.5]);
    assert.deepEqual(scale[0].points[4], [1, 0.3]);
    assert.ok(scale[2].reference);
    assert.deepEqual(scale[2].points, [
      [0, 0.3],
      [1, 0.3],
    ]);
    const mean = doseSeries(p, 'mean', 'train');
    assert.ok(Math.abs(mean[0].points[0][1] - 0.25) < 1e-12, `train L1, mean mode, alpha 0: ${mean[0].points[0][1]}`);
    assert.deepEqual(mean[2].points[0], [0, 0.2]);
  });

  it('offers a probe to a run with a checkpoint that is not training, and again over an older one', () => {
    assert.match(probeButton(run()), /<button data-probe="e2e\/skips-all">Probe skips<\/button>/);
    assert.match(probeButton(run({ probe: probe() })), />Probe again</);
    assert.equal(probeButton(run({ status: 'running' })), '');
    assert.equal(probeButton(run({ checkpointed: false })), '');
    assert.equal(probeButton(run({ probing: true })), '<button disabled>Probing…</button>');
    assert.equal(probeSection(run({ checkpointed: false }), 'test'), '', 'nothing to show, nothing to do');
    const failed = probeSection(run({ probeError: 'no <checkpoint>' }), 'test');
    assert.match(failed, /What does each skip do\?.*Probe skips.*<p class="error">no &#60;checkpoint&#62;<\/p>/s);
  });

  it("shows both modes' charts and the output rows, each skip at alpha = 0 against the unmodified outputs", () => {
    const html = probeSection(run({ probe: probe(), step: 300 }), 'train');
    assert.match(html, /Skip scaled toward 0 \(train L1\).*Skip toward its per-channel mean \(train L1\)/s);
    assert.match(html, /value="train" checked/);
    assert.match(html, /at step 240: where L1 rises .* The run is at step 300 now\./s);
    const rows = probeFigures(probe());
    const captions = [...rows.matchAll(/<figcaption>(.*?)<\/figcaption>/g)].map((m) => m[1].replace(/<[^>]+>/g, ''));
    assert.deepEqual(captions, [
      'unmodified (step 240) (test L1 0.300)',
      'level 1 without its skip (test L1 0.500, +0.200)',
      'level 2 without its skip (test L1 0.310, +0.010)',
    ]);
    assert.doesNotMatch(rows, /-mean-alpha0/, 'the rows are the scale mode');
    assert.equal((rows.match(/class="probe-row most"/g) ?? []).length, 1);
    assert.match(rows, /class="probe-row most" title="decoder level 1 with its skip from encoder level 4 scaled to 0"/);
    const noSkips = { ...probe(), skips: [], doses: [], figures: { unmodified: 'u.png', alphaZero: [] } };
    assert.match(probeSection(run({ probe: noSkips }), 'test'), /no skips: nothing to probe/);
  });
});
