// End to end: inspecting a sweep's runs in the panel (code-server + Chromium): an image dropped on Compare and
// translated by three runs (the same pixels as `p2p translate`), the A/B view, curves with a cursor readout,
// smoothing, log scale and zoom, and the Export button.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import sharp from 'sharp';
import type { Translation } from '../../src/protocol/trainer';
import { root, runCommand, runsPanel, startWorkbench, type Workbench } from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');
const cli = join(root, 'dist', 'cli.js');
const sweep =
  readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8')
    .replace('name: tiny', 'name: inspect')
    .replace('levels: 5', 'levels: 3')
    .replace('sampleEvery: 0.5', 'sampleEvery: 0.25') +
  'ablation:\n  name: inspect-skips\n  steps: 40\n  progressiveSkips: shallowFirst\n';

describe('inspecting runs in the panel (code-server)', () => {
  let wb: Workbench;
  let panel: FrameLocator;
  let photo: Buffer;
  const shot = (name: string) => wb.page.screenshot({ path: join(shots, `${name}.png`) });

  before(async () => {
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), { 'inspect.p2p.yaml': sweep });
    // Three trained variants, made with the CLI before the panel opens.
    execFileSync(process.execPath, [cli, 'ablate', 'inspect.p2p.yaml', '--out', 'runs'], {
      cwd: wb.workspace,
      stdio: 'pipe',
    });
    const pixels = Buffer.from(
      Array.from({ length: 96 * 64 * 3 }, (_, i) => (i % 3 === 0 ? (i * 13) % 256 : (i * 5) % 256)),
    );
    photo = await sharp(pixels, { raw: { width: 96, height: 64, channels: 3 } })
      .png()
      .toBuffer();
    panel = runsPanel(wb.page);
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('translates a dropped image with three runs, as p2p translate does, and compares two outputs A/B', async () => {
    await runCommand(wb.page, 'pix2pix: Open Runs Panel');
    await panel.locator('button[data-tab="ablations"]').click();
    await panel.locator('button', { hasText: 'Compare variants' }).click();
    const zone = panel.locator('.dropzone', { hasText: 'with the 3 selected runs' });
    await zone.evaluate((el, b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const data = new DataTransfer();
      data.items.add(new File([bytes], 'photo.png', { type: 'image/png' }));
      el.dispatchEvent(new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true }));
    }, photo.toString('base64'));
    const figures = panel.locator('section.translation .side-by-side figure');
    await figures.nth(6).locator('img').waitFor({ timeout: 120_000 });
    assert.equal(await figures.count(), 7, 'the original, then input and output of each run');
    await shot('40-panel-translate');

    // The panel's pixels are p2p translate's.
    const folder = readdirSync(join(wb.workspace, 'translations')).find((d) => d !== 'dropped')!;
    const t = JSON.parse(
      readFileSync(join(wb.workspace, 'translations', folder, 'translation.json'), 'utf8'),
    ) as Translation;
    const runs = t.images[0].outputs.map((o) => o.run);
    const dropped = join(wb.workspace, 'translations', 'dropped', 'photo.png');
    execFileSync(process.execPath, [cli, 'translate', ...runs, '--image', dropped, '--out', 'cli-translation'], {
      cwd: wb.workspace,
      stdio: 'pipe',
    });
    for (const o of t.images[0].outputs) {
      const cliFile = join(wb.workspace, 'cli-translation', '01-photo', `${o.label}.png`);
      const [a, b] = await Promise.all([o.output, cliFile].map((f) => sharp(f).raw().toBuffer()));
      assert.deepEqual(a, b, `${o.label}: the same pixels`);
    }

    const ab = panel.locator('.ab');
    await ab.locator('input[data-ab-split]').fill('30');
    await ab.locator('input[data-ab-mode="difference"]').check();
    await ab.locator('img.ab-difference').waitFor({ timeout: 30_000 });
    await ab.scrollIntoViewIfNeeded();
    await shot('41-panel-ab-difference');
    await ab.locator('input[data-ab-mode="flicker"]').check();
    const flick = ab.locator('img.ab-flicker');
    const first = await flick.getAttribute('src');
    await wb.page.waitForTimeout(700);
    assert.notEqual(await flick.getAttribute('src'), first, 'flickers between A and B');
  });

  it('reads curves: the value under the cursor, smoothing, log scale, zoom and reset', async () => {
    const plot = panel.locator('.plot').first();
    await plot.scrollIntoViewIfNeeded();
    const over = plot.locator('.u-over');
    const box = (await over.boundingBox())!;
    await over.hover({ position: { x: box.width * 0.6, y: box.height / 2 } });
    const value = plot.locator('.u-legend .u-series').nth(1).locator('.u-value');
    await assert.doesNotReject(async () => assert.match(await value.innerText(), /^\d/));
    await shot('42-panel-curves-cursor');
    // The axes are drawn on the canvas: the step the legend reads at one cursor position tells the x range.
    const y = box.y + box.height / 2;
    const stepAt = async (fraction: number) => {
      await wb.page.mouse.move(box.x + box.width * fraction, y);
      return plot.locator('.u-legend .u-value').first().innerText();
    };
    const before = await stepAt(0.6);
    await wb.page.mouse.move(box.x + box.width * 0.02, y);
    await wb.page.mouse.down();
    await wb.page.mouse.move(box.x + box.width * 0.3, y, { steps: 8 });
    await wb.page.mouse.up();
    const zoomed = await stepAt(0.6);
    assert.notEqual(zoomed, before, `dragging zooms the steps: step ${before} at 60% before, ${zoomed} after`);
    await wb.page.mouse.dblclick(box.x + box.width * 0.6, y);
    assert.equal(await stepAt(0.6), before, 'a double-click resets');
    await panel.locator('#smoothing').fill('0.9');
    await panel.locator('#smoothing-value', { hasText: '0.90' }).waitFor();
    await panel.locator('#logscale').check();
    await panel.locator('.plot').first().waitFor();
    await shot('43-panel-curves-smoothed-log');
    for (const [theme, name] of [
      ['Dark Modern', '45-panel-curves-dark'],
      ['Dark High Contrast', '46-panel-curves-high-contrast'],
      ['Light Modern', ''],
    ]) {
      // Ctrl+K Ctrl+T: the installed themes (the palette's first match may be the Marketplace's).
      await wb.page.keyboard.press('Control+K');
      await wb.page.keyboard.press('Control+T');
      await wb.page.locator('.quick-input-widget .quick-input-box input').waitFor();
      await wb.page.keyboard.type(theme);
      await wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: theme }).first().waitFor();
      await wb.page.keyboard.press('Enter');
      if (!name) continue;
      await panel.locator('.plot canvas').first().waitFor();
      await wb.page.waitForTimeout(500);
      await shot(name);
    }
  });

  it('exports a run generator as ONNX from the panel', async () => {
    await panel.locator('button[data-tab="runs"]').click();
    await panel.locator('button[data-export][data-format="onnx"]').first().click();
    const exports = join(wb.workspace, 'exports');
    const written = () =>
      existsSync(exports) && readdirSync(exports).some((d) => existsSync(join(exports, d, 'transform.json')));
    for (let i = 0; i < 60 && !written(); i++) await wb.page.waitForTimeout(500);
    const folder = readdirSync(exports)[0];
    assert.ok(existsSync(join(exports, folder, 'generator.onnx')), 'generator.onnx written');
    assert.ok(existsSync(join(exports, folder, 'transform.json')), 'transform.json beside it');
    await shot('44-panel-export');
  });
});
