// The runs panel's memorisation views as HTML: the captions under a sample figure's nearest training targets (a
// copy by the copy rate marked, a training column's own target named), a sample figure alone for runs recorded
// before them, and the curves only where evaluations measured memorisation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PanelRun } from '../../src/protocol/panel';
import {
  copyingLine,
  criticCharts,
  diversity,
  memorisationCharts,
  neighbourCaption,
  sampleStack,
} from '../../webview/memorisation';

const q = { l1: 0.3, psnr: 20, ssim: 0.5 };
const run = (memorised: boolean): PanelRun =>
  ({
    evals: [
      {
        step: 10,
        epoch: 1,
        train: q,
        test: q,
        gap: q,
        ...(memorised ? { memorisation: { nnMedian: 0.2, copyRate: 0.4, ct: -3.25, diversity: 0.05, draws: 8 } } : {}),
        ...(memorised ? { critic: { train: 0.6, test: 0.5, generated: 0.3, rt: 0.4, rv: 0.2 } } : {}),
      },
    ],
    samples: [
      { step: 10, split: 'test', uri: 'test.png' },
      ...(memorised
        ? [
            {
              step: 10,
              split: 'test-neighbours' as const,
              uri: 'nn.png',
              neighbours: [
                { index: 4, rms: 0.1, dssim: 0.2, ownRms: 0.3, copied: true },
                { index: 7, rms: 0.25, dssim: 0.4, ownRms: 0.2, copied: false },
              ],
            },
            { step: 10, split: 'diversity' as const, uri: 'div.png' },
          ]
        : []),
    ],
  }) as unknown as PanelRun;

describe('the memorisation views of the runs panel', () => {
  it('captions each column with its neighbour, marking the copies the copy rate counts', () => {
    const copy = neighbourCaption({ index: 4, rms: 0.1, dssim: 0.2, ownRms: 0.3, copied: true }, 0, 'test');
    assert.match(copy, /^<span class="closer"/);
    assert.match(copy, /#4 ·.*0\.100.*\(own 0\.300\)/);
    assert.match(copy, /title="training target #4: RMS 0\.100, 1 − SSIM 0\.200; own target: RMS 0\.300; nearer it/);
    const near = neighbourCaption({ index: 7, rms: 0.25, dssim: 0.4, ownRms: 0.2, copied: false }, 1, 'test');
    assert.match(near, /^<span class=""/);
    assert.doesNotMatch(near, /nearer it|a copy/);
    assert.match(neighbourCaption({ index: 2, rms: 0, dssim: 0, ownRms: 0 }, 2, 'train'), /its own target/);
  });

  it('stacks the neighbours row under the sample figure, and shows the figure alone in older runs', () => {
    const [memorised, older] = [run(true), run(false)];
    const stack = sampleStack(memorised, 'test', memorised.samples[0], 'nearest training target');
    assert.match(stack, /<img class="sample" src="test\.png".*<img class="sample neighbours" src="nn\.png"/s);
    assert.equal((stack.match(/title="training target/g) ?? []).length, 2);
    assert.equal(
      sampleStack(older, 'test', older.samples[0], 'x'),
      '<div class="figure-stack"><img class="sample" src="test.png" alt="test samples at step 10" data-enlarge></div>',
    );
    assert.match(copyingLine(memorised, 10), /copy rate 0\.40 · C<sub>T<\/sub> -3\.25/);
    assert.equal(copyingLine(older, 10), '');
    assert.match(diversity(memorised, 10), /Diversity: 8 dropout draws.*mean pairwise RMS 0\.050/s);
    assert.equal(diversity(older, 10), '');
  });

  it('draws the memorisation curves only for runs that measured them', () => {
    assert.equal(memorisationCharts(run(false)), '');
    const html = memorisationCharts(run(true));
    assert.match(html, /Memorisation/);
    assert.match(html, /Data copying C_T/);
    assert.equal(criticCharts(run(false)), '');
    assert.match(criticCharts(run(true)), /Critic: P\(real\) per patch.*Critic overfitting/s);
  });
});
