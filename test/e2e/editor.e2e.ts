// End to end in a real VS Code (code-server in headless Chromium): the packaged .vsix is installed, a workspace
// with the examples is opened, and the test points, reads and types as a person would. Screenshots go to
// test-output/e2e/. Run: npm run test:e2e
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { dismissHover, hoverOn, quickInput, replaceLine, root, startWorkbench, type Workbench } from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');
const seed = readFileSync(join(root, 'examples/seed.p2p.yaml'), 'utf8');
const lineOf = (needle: string) => seed.split('\n').findIndex((l) => l.includes(needle)) + 1;
const statusItem = '[id="p2p-ablation-lab.p2p-ablation-lab.p2p.params"]';

describe('the extension in VS Code (code-server)', () => {
  let wb: Workbench;
  const shot = (name: string) => wb.page.screenshot({ path: join(shots, `${name}.png`) });

  before(async () => {
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), {
      'seed.p2p.yaml': seed,
      'tiny.p2p.yaml': readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8'),
      'encoder-decoder.p2p.yaml': readFileSync(join(root, 'examples/encoder-decoder.p2p.yaml'), 'utf8'),
    });
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('opens a config and shows the totals in the status bar and code lens', async () => {
    const { page } = wb;
    await quickInput(page, 'Control+P', 'seed.p2p.yaml', 'seed.p2p.yaml');
    await page.locator('.tabs-container .tab.active', { hasText: 'seed.p2p.yaml' }).waitFor({ timeout: 20_000 });
    await page.locator(statusItem, { hasText: 'G 19,303,811' }).waitFor({ timeout: 60_000 });
    await page
      .locator('.codelens-decoration', { hasText: 'Generator: 19,303,811 params' })
      .waitFor({ timeout: 20_000 });
    await shot('01-seed-opened');
  });

  it('hovers decoder level 3 and reads its Keras rows', async () => {
    const { page } = wb;
    const text = await hoverOn(page, 'dropout', '3', 'unet_upconv2D_3');
    assert.match(text, /Decoder level 3/);
    assert.match(text, /unet_upconv2D_3 \(Conv2D\)\s+\(None, 8, 8, 256\)\s+2,359,552/);
    assert.match(text, /768 = 256 up \+ 512 skip/);
    await shot('02-hover-decoder-level-3');
    await dismissHover(page);
  });

  it('flips a skip and sees the numbers change', async () => {
    const { page } = wb;
    await replaceLine(page, lineOf('skips: all'), '  skips: [1, 2, 3, 4, 5]');
    await page.locator(statusItem, { hasText: 'G 19,302,083' }).waitFor({ timeout: 20_000 });
    await page
      .locator('.codelens-decoration', { hasText: 'Generator: 19,302,083 params' })
      .waitFor({ timeout: 20_000 });
    const text = await hoverOn(page, 'skips', '5', 'Removing this skip');
    assert.match(text, /−73,728 params \(19,302,083 → 19,228,355\)/);
    await shot('03-skip-flipped');
    await dismissHover(page);
  });

  it('shows the diagnostic for an out-of-range level', async () => {
    const { page } = wb;
    await replaceLine(page, lineOf('skips: all'), '  skips: [1, 9]');
    await page.locator(statusItem, { hasText: '1 error' }).waitFor({ timeout: 20_000 });
    // Diagnostics arrive after the typing debounce: point at the level once its squiggle is drawn.
    await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 20_000 });
    const text = await hoverOn(page, 'skips', '9', 'does not exist');
    assert.match(text, /`?generator\.skips`?: level 9 does not exist; this generator has decoder levels 1\.\.6/);
    await shot('04-out-of-range-level');
    await dismissHover(page);
    await page.keyboard.press('Control+Shift+M');
    await page
      .locator('.markers-panel .monaco-list-row', { hasText: 'level 9 does not exist' })
      .waitFor({ timeout: 20_000 });
    await shot('05-problems-panel');
  });

  it('runs "pix2pix: Show Keras Summary"', async () => {
    const { page } = wb;
    await replaceLine(page, lineOf('skips: all'), '  skips: all');
    await page.locator(statusItem, { hasText: 'G 19,303,811' }).waitFor({ timeout: 20_000 });
    await quickInput(page, 'F1', '>pix2pix: Show Keras Summary', 'pix2pix: Show Keras Summary');
    await page.locator('.tabs-container .tab', { hasText: 'seed.p2p.yaml.summary.txt' }).waitFor({ timeout: 20_000 });
    await page
      .locator('.monaco-editor .view-line', {
        hasText: 'Generator generator_unet_upsampling: 19,303,811 params (19,295,875 trainable, 7,936 non-trainable)',
      })
      .first()
      .waitFor({ timeout: 20_000 });
    await page
      .locator('.monaco-editor .view-line', { hasText: 'unet_conv2D_1 (Conv2D)' })
      .first()
      .waitFor({ timeout: 20_000 });
    await shot('06-keras-summary');
  });
});
