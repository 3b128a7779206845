// End to end: train from the editor and read the results in the runs panel (code-server + Chromium).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FrameLocator, Locator, Page } from 'playwright-core';
import { openFile, resizePanel, root, runCommand, runsPanel, startWorkbench, type Workbench } from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';
import { SUMMARY_HEADER } from '../../src/runFolders/replicateStats';

const shots = join(root, 'test-output', 'e2e');
// 240 steps with a sample every 5: long enough to stop mid-run on a slow machine, short enough to finish.
const config = (epochs: number) =>
  readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8')
    .replace('epochs: 5', `epochs: ${epochs}`)
    .replace('sampleEvery: 0.5', 'sampleEvery: 0.125');

describe('training from the editor and the runs panel (code-server)', () => {
  let wb: Workbench;
  let panel: FrameLocator;
  const shot = (name: string) => wb.page.screenshot({ path: join(shots, `${name}.png`) });
  const command = (title: string) => runCommand(wb.page, title);
  const open = (file: string) => openFile(wb.page, file);
  const runRow = (name: string) => panel.locator('tr[data-run]', { hasText: name });

  before(async () => {
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), {
      'skips.p2p.yaml': config(6).replace('name: tiny', 'name: all-skips'),
      'noskips.p2p.yaml': config(1).replace('name: tiny', 'name: no-skips').replace('skips: all', 'skips: none'),
      // 3 levels: progressive skip removal gives 3 variants.
      'sweep.p2p.yaml':
        config(1).replace('name: tiny', 'name: sweep').replace('levels: 5', 'levels: 3') +
        'ablation:\n  name: e2e-skips\n  steps: 30\n  progressiveSkips: shallowFirst\n',
      // 2 variants x 3 seeds: the table over seeds, its forest plot and band curves.
      'seeds.p2p.yaml':
        config(1).replace('name: tiny', 'name: seeds').replace('levels: 5', 'levels: 3') +
        'ablation:\n  name: e2e-seeds\n  steps: 20\n  seeds: 3\n  base: false\n  dropoutLevels: [none, all]\n',
    });
    panel = runsPanel(wb.page);
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('trains the current config and shows curves and samples as they appear', async () => {
    await open('skips.p2p.yaml');
    await wb.page.locator('[id="p2p-ablation-lab.p2p-ablation-lab.p2p.params"]').waitFor({ timeout: 60_000 });
    await wb.page.locator('.editor-actions [aria-label*="Train Current Config"]').first().waitFor({ timeout: 30_000 });
    await command('pix2pix: Train Current Config');
    await runRow('all-skips').locator('.status', { hasText: 'running' }).waitFor({ timeout: 120_000 });
    await panel.locator('.chart-title', { hasText: 'Generator' }).waitFor({ timeout: 60_000 });
    await panel.locator('.chart .plot canvas').first().waitFor({ timeout: 60_000 });
    await panel.locator('#step-label', { hasText: /step [1-9]\d* \(newest\)/ }).waitFor({ timeout: 120_000 });
    // The panel re-renders on every event while training: poll until a rendered sample has loaded.
    const deadline = Date.now() + 30_000;
    let loaded = false;
    while (!loaded && Date.now() < deadline) {
      loaded = await panel
        .locator('img.sample')
        .first()
        .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0, undefined, { timeout: 2_000 })
        .catch(() => false);
      if (!loaded) await wb.page.waitForTimeout(250);
    }
    assert.ok(loaded, 'the sample image loads');
    await shot('10-panel-training');
  });

  it('stops with a checkpoint and resumes', async () => {
    await command('pix2pix: Stop Training');
    await runRow('all-skips').locator('.status', { hasText: 'stopped' }).waitFor({ timeout: 60_000 });
    const stoppedAt = await runRow('all-skips').locator('td.num').nth(1).innerText();
    await shot('11-panel-stopped');
    // The table re-renders on every event: a click that lands on a row being replaced is retried.
    let resumed = false;
    for (let attempt = 0; attempt < 3 && !resumed; attempt++) {
      const button = runRow('all-skips').locator('button', { hasText: 'Resume' });
      if (await button.count()) await button.click().catch(() => undefined);
      resumed = await runRow('all-skips')
        .locator('.status', { hasText: /running|completed/ })
        .waitFor({ timeout: 20_000 })
        .then(() => true)
        .catch(() => false);
    }
    if (!resumed) await shot('11-panel-resume-failed');
    assert.ok(resumed, 'the run resumes from the panel');
    await runRow('all-skips').locator('.status', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
    const finalStep = await runRow('all-skips').locator('td.num').nth(1).innerText();
    assert.equal(finalStep, '240/240');
    assert.ok(Number(stoppedAt.split('/')[0]) < 240, `stopped early at ${stoppedAt}`);
  });

  it('compares two runs (all skips vs none) side by side', async () => {
    await open('noskips.p2p.yaml');
    await command('pix2pix: Train Current Config');
    await runRow('no-skips').locator('.status', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
    await runRow('no-skips').locator('td.diff', { hasText: 'skip' }).waitFor({ timeout: 20_000 });
    for (const name of ['all-skips', 'no-skips']) {
      const box = runRow(name).locator('input[type=checkbox]');
      if (!(await box.isChecked())) await box.click();
    }
    await panel.locator('nav button', { hasText: 'Compare' }).click();
    await panel.locator('table.compare tbody tr').nth(1).waitFor({ timeout: 20_000 });
    assert.equal(await panel.locator('.side-by-side figure').count(), 2);
    await panel.locator('.side-by-side img.sample').nth(1).scrollIntoViewIfNeeded();
    await panel.locator('.side-by-side img.sample').nth(1).waitFor({ timeout: 20_000 });
    await panel.locator('.side-by-side').first().scrollIntoViewIfNeeded();
    await shot('12-panel-compare');
  });

  it("shows memorisation: each column's nearest training target, the curves, and both runs' in Compare", async () => {
    await panel.locator('nav button', { hasText: 'Runs' }).click();
    await runRow('all-skips').locator('td').nth(1).click();
    await panel.locator('.run-title h2', { hasText: 'all-skips' }).waitFor({ timeout: 20_000 });
    const stack = panel.locator('.samples .figure-stack');
    await neighboursRow(stack);
    const first = stack.locator('.nn-captions > span').first();
    assert.match((await first.getAttribute('title')) ?? '', /1 − SSIM 0\.\d{3}/);
    await panel.locator('.samples .copying', { hasText: /^copy rate [01]\.\d{2}/ }).waitFor();
    await panel
      .locator('h3.diversity-title', { hasText: /^Diversity: 8 dropout draws mean pairwise RMS 0\.\d{3}$/ })
      .waitFor();
    await stack.scrollIntoViewIfNeeded();
    await shot('memorisation-runs');

    const charts = panel.locator('.chart', { hasText: 'Memorisation' });
    await charts.locator('.plot canvas').waitFor({ timeout: 10_000 });
    const legend = await charts.locator('.u-legend .u-series .u-label').allInnerTexts();
    assert.deepEqual(legend, ['step', 'copy rate', 'NN distance (median)', 'diversity']);
    await charts.scrollIntoViewIfNeeded();
    await shot('memorisation-curves');

    await panel.locator('nav button', { hasText: 'Compare' }).click();
    await panel.locator('input[name="compare-view"][value="neighbours"]').check();
    const figures = panel.locator('.side-by-side figure.nearest');
    await until(async () => (await figures.count()) === 2, 10_000);
    for (const figure of await figures.all()) {
      await neighboursRow(figure.locator('.figure-stack'));
      await figure.locator('figcaption .copying', { hasText: /^copy rate [01]\.\d{2}/ }).waitFor();
    }
    // Wide enough for two figures side by side: the generated images over the training faces they resemble.
    const width = (await wb.page.locator('iframe.webview').last().boundingBox())!.width;
    await resizePanel(wb.page, 900);
    const [left, right] = [(await figures.nth(0).boundingBox())!, (await figures.nth(1).boundingBox())!];
    assert.ok(right.x > left.x + left.width - 1 && Math.abs(right.y - left.y) < 1, 'the two runs side by side');
    const toTop = () => panel.locator('.view-toggle').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await toTop();
    await shot('memorisation-compare');
    await setTheme(wb.page, 'Dark Modern');
    await panel.locator('.plot canvas').first().waitFor();
    await wb.page.waitForTimeout(500);
    await toTop();
    await shot('memorisation-compare-dark');
    await setTheme(wb.page, 'Light Modern');
    await resizePanel(wb.page, 450);
    await neighboursRow(figures.first().locator('.figure-stack'));
    await toTop();
    await shot('memorisation-compare-450px');
    await resizePanel(wb.page, width);
    // The theme picker hands the keyboard back to the panel: the next test's keys go to the workbench.
    await wb.page.locator('.editor-group-container').first().locator('.monaco-editor .view-lines').first().click();
  });

  it('probes the skips of a trained run: L1 against alpha per mode, a curve per level, the outputs without each', async () => {
    await panel.locator('nav button', { hasText: 'Runs' }).click();
    await runRow('all-skips').locator('td').nth(1).click();
    await panel.locator('.run-title h2', { hasText: 'all-skips' }).waitFor({ timeout: 20_000 });
    const section = panel.locator('section.probe');
    await section.locator('button', { hasText: 'Probe skips' }).click();
    const charts = section.locator('.probe-charts .chart');
    await charts
      .first()
      .locator('.plot canvas')
      .waitFor({ timeout: 300_000 })
      .catch(async (e) => {
        await shot('probe-failed');
        throw e;
      });
    const titles = await charts.locator('.chart-title').allInnerTexts();
    assert.deepEqual(titles, ['Skip scaled toward 0 (test L1)', 'Skip toward its per-channel mean (test L1)']);
    // tiny.p2p.yaml: 5 levels, skips at decoder levels 1-4 from encoder levels 4-1.
    const levels = ['level 1 (encoder 4)', 'level 2 (encoder 3)', 'level 3 (encoder 2)', 'level 4 (encoder 1)'];
    for (const chartEl of await charts.all()) {
      await chartEl.locator('.plot canvas').waitFor({ timeout: 10_000 });
      const legend = await chartEl.locator('.u-legend .u-series .u-label').allInnerTexts();
      assert.deepEqual(legend, ['alpha', ...levels, 'unmodified']);
    }
    const rows = section.locator('.probe-figures figure.probe-row');
    assert.equal(await rows.count(), 1 + levels.length, 'the unmodified outputs and one row per skip');
    const captions = await rows.locator('figcaption').allInnerTexts();
    assert.match(captions[0], /^unmodified \(step 240\) \(test L1 0\.\d{3}\)$/);
    for (const [i, caption] of captions.slice(1).entries())
      assert.match(caption, new RegExp(`^level ${i + 1} without its skip \\(test L1 0\\.\\d{3}, [+−]0\\.\\d{3}\\)$`));
    for (const img of await rows.locator('img').all())
      await until(() => img.evaluate((el: HTMLImageElement) => el.complete && el.naturalWidth > 0), 20_000);
    await section.locator('button', { hasText: 'Probe again' }).waitFor();
    const toTop = () => section.evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await toTop();
    await shot('probe');
    await section.locator('.probe-figures').evaluate((el) => el.scrollIntoView({ block: 'end' }));
    await shot('probe-figures');
    await section.locator('input[name="probe-split"][value="train"]').check();
    await section.locator('.chart-title', { hasText: 'Skip scaled toward 0 (train L1)' }).waitFor();
    await section.locator('input[name="probe-split"][value="test"]').check();
    const width = (await wb.page.locator('iframe.webview').last().boundingBox())!.width;
    await setTheme(wb.page, 'Dark Modern');
    await section.locator('.plot canvas').first().waitFor();
    await wb.page.waitForTimeout(500);
    await toTop();
    await shot('probe-dark');
    await setTheme(wb.page, 'Light Modern');
    await resizePanel(wb.page, 450);
    await section.locator('.plot canvas').first().waitFor();
    await wb.page.waitForTimeout(500);
    await toTop();
    await shot('probe-450px');
    await resizePanel(wb.page, width);
    await wb.page.locator('.editor-group-container').first().locator('.monaco-editor .view-lines').first().click();
  });

  it('runs an ablation from its code lens and shows the table, then the variants side by side', async () => {
    await open('sweep.p2p.yaml');
    const lens = wb.page.locator('.editor-group-container.active .codelens-decoration a', {
      hasText: 'Run Ablation: 3 variants',
    });
    await lens.waitFor({ timeout: 60_000 });
    await lens.click();
    const table = panel.locator('table.ablation');
    await table.waitFor({ timeout: 60_000 }).catch(async (e) => {
      await shot('13-panel-ablation-failed');
      throw e;
    });
    for (const v of ['skips-all', 'skips-1', 'skips-none']) {
      await table
        .locator('tr', { hasText: v })
        .locator('td.status', { hasText: '30 steps' })
        .waitFor({ timeout: 240_000 });
    }
    assert.equal(await table.locator('tbody tr').count(), 3);
    const cells = await table.locator('tbody tr').first().locator('td').allInnerTexts();
    assert.equal(cells[1], 'all');
    assert.match(cells[7], /^0\.\d{3}$/, `test L1 ${cells[7]}`);
    await panel.locator('.chart-title', { hasText: 'Test L1 per variant' }).waitFor();
    await shot('13-panel-ablation');
    await narrowAblationTable(wb.page, table);
    await shot('15-panel-ablation-580px');
    await panel.locator('button', { hasText: 'Compare variants' }).click();
    await panel.locator('table.compare tbody tr').nth(2).waitFor({ timeout: 20_000 });
    assert.equal(await panel.locator('.side-by-side figure').count(), 3);
    await panel.locator('.side-by-side img.sample').nth(2).waitFor({ timeout: 20_000 });
    await shot('14-panel-ablation-compare');
  });

  it('shows intervals, the forest plot and band curves of a 2 x 3 sweep, at 450 px too', async () => {
    await open('seeds.p2p.yaml');
    const lens = wb.page.locator('.editor-group-container.active .codelens-decoration a', {
      hasText: 'Run Ablation: 2 variants × 3 seeds = 6 runs',
    });
    await lens.waitFor({ timeout: 60_000 });
    await lens.click();
    const section = panel.locator('section.sweep', { hasText: 'e2e-seeds' });
    const runsTable = section.locator('table.ablation');
    await runsTable.waitFor({ timeout: 60_000 });
    await until(async () => (await runsTable.locator('td.status', { hasText: '20 steps' }).count()) === 6, 420_000);
    const summaryRow = section.locator('table.over-seeds tr', { hasText: 'dropout-all' });
    const cells = await summaryRow.locator('td').allInnerTexts();
    assert.equal(cells[1], '3', 'three seeds');
    assert.match(cells[3], /^0\.\d{3} ± 0\.\d{3}$/, `test L1 ${cells[3]}`);
    const [delta, verdict] = ['Δ test L1 [95% CI]', 'Verdict'].map((h) => cells[SUMMARY_HEADER.indexOf(h)]);
    assert.match(delta, /^[+−]0\.\d{3} \[[+−]0\.\d{3}, [+−]0\.\d{3}\]$/, `Δ ${delta}`);
    assert.match(verdict, /^(worse|better|no detectable difference at this noise)$/);
    assert.equal(await section.locator('svg.forest g.forest-row').count(), 1, 'one variant against the reference');
    const interval = section.locator('svg.forest g.forest-row line');
    const stroke = await interval.evaluate((el) => getComputedStyle(el).stroke);
    assert.match(stroke, /^rgb/, `the interval is drawn in a colour: ${stroke}`);
    assert.ok((await interval.boundingBox())!.width > 4, 'the interval has a length');
    const title = 'Test L1 per variant (mean over seeds, band: min to max)';
    const testChart = section.locator('.chart', { hasText: title });
    await testChart.locator('.u-legend').waitFor();
    const legend = () => testChart.locator('.u-legend .u-series:visible .u-label').allInnerTexts();
    assert.deepEqual(await legend(), ['step', 'dropout-none (mean of 3)', 'dropout-all (mean of 3)']);
    await shot('16-panel-seeds');

    await section.locator('#each-seed').check();
    await until(async () => (await legend()).length === 9, 10_000);
    assert.ok((await legend()).includes('dropout-all seed 3'));
    await section.locator('select.sweep-seed').selectOption('2');
    const images = section.locator('.ablation-samples img.sample');
    await until(async () => (await images.count()) === 2, 10_000);
    for (const src of await images.evaluateAll((els) => els.map((e) => (e as HTMLImageElement).src)))
      assert.match(decodeURIComponent(src), /-seed2\//, `a sample of seed 2: ${src}`);
    await section.locator('table.over-seeds').scrollIntoViewIfNeeded();
    await shot('17-panel-seeds-each-seed');

    await resizePanel(wb.page, 450);
    const frame = (await wb.page.locator('iframe.webview').last().boundingBox())!;
    assert.ok(Math.abs(frame.width - 450) < 25, `panel width ${frame.width}`);
    const forest = (await section.locator('svg.forest').boundingBox())!;
    assert.ok(forest.x >= frame.x - 1 && forest.x + forest.width <= frame.x + frame.width + 1, 'the forest plot fits');
    const variant = (await summaryRow.locator('td.variant').boundingBox())!;
    assert.ok(variant.x >= frame.x - 1 && variant.height < 30, 'the variant stays in view, on one line');
    await section.locator('svg.forest').scrollIntoViewIfNeeded();
    await shot('18-panel-seeds-450px');
  });
});

async function until(probe: () => Promise<boolean>, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Ctrl+K Ctrl+T: an installed colour theme by name (the palette's first match may be the Marketplace's). */
async function setTheme(page: Page, theme: string): Promise<void> {
  await page.keyboard.press('Control+K');
  await page.keyboard.press('Control+T');
  await page.locator('.quick-input-widget .quick-input-box input').waitFor();
  await page.keyboard.type(theme);
  await page.locator('.quick-input-widget .monaco-list-row', { hasText: theme }).first().waitFor();
  await page.keyboard.press('Enter');
}

/**
 * A sample figure's row of nearest training targets: loaded, as wide as the figure, with a caption under each of its
 * five columns, the captions spanning the row.
 */
async function neighboursRow(stack: Locator): Promise<void> {
  const row = stack.locator('img.neighbours');
  await row.waitFor({ timeout: 20_000 });
  await until(
    () => row.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0).catch(() => false),
    20_000,
  );
  const captions = stack.locator('.nn-captions > span');
  assert.equal(await captions.count(), 5, 'a caption per column');
  for (const text of await captions.allInnerTexts())
    assert.match(text, /^#\d+ · \d\.\d{3}\n(\(own \d\.\d{3}\)|its own target)$/, `caption ${JSON.stringify(text)}`);
  const sample = (await stack.locator('img.sample').first().boundingBox())!;
  const image = (await row.boundingBox())!;
  const under = (await stack.locator('.nn-captions').boundingBox())!;
  assert.ok(
    Math.abs(image.width - sample.width) < 1,
    `the row is as wide as the figure: ${image.width}, ${sample.width}`,
  );
  assert.ok(image.y > sample.y + sample.height - 1, 'the row is under the figure');
  assert.ok(Math.abs(under.x - image.x) < 1 && Math.abs(under.width - image.width) < 1, 'the captions span the row');
}

/** At 580 px, the panel beside an editor, every variant's name and status stay in view, on one line each. */
async function narrowAblationTable(page: Page, table: Locator): Promise<void> {
  await resizePanel(page, 580);
  const frame = (await page.locator('iframe.webview').last().boundingBox())!;
  assert.ok(Math.abs(frame.width - 580) < 25, `panel width ${frame.width}`);
  for (const row of await table.locator('tbody tr').all()) {
    for (const cell of [row.locator('td.variant'), row.locator('td.status')]) {
      const box = (await cell.boundingBox())!;
      const text = await cell.innerText();
      assert.ok(box.x >= frame.x - 1 && box.x + box.width <= frame.x + frame.width + 1, `${text} is in view`);
      assert.ok(box.height < 30, `${text} is on one line (${box.height} px)`);
    }
  }
}
