// End to end, the Welcome page's walkthrough (code-server + Chromium): it is listed among the walkthroughs, and its
// first steps complete as a newcomer takes them: the seed's config opened from its link, a hover read in it, a
// skip flipped by typing. Screenshots of each.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Locator } from 'playwright-core';
import { hoverOn, replaceLine, root, runCommand, startWorkbench, type Workbench } from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');
const TITLE = 'Ablate a pix2pix U-Net';

describe('the walkthrough on the Welcome page (code-server)', () => {
  let wb: Workbench;
  const shot = (name: string) => wb.page.screenshot({ path: join(shots, `${name}.png`) });
  const page = () => wb.page.locator('.gettingStartedContainer');
  const step = (title: string): Locator => page().locator('.getting-started-step', { hasText: title }).first();

  before(async () => {
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), { 'notes.md': '# Ablation notes\n' });
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('is listed, and its first three steps complete: the seed opened, a hover read, a skip flipped', async () => {
    await runCommand(wb.page, 'Welcome: Open Walkthrough...');
    const listed = wb.page.locator('.quick-input-widget .monaco-list-row', { hasText: TITLE }).first();
    await listed.waitFor({ timeout: 20_000 });
    await listed.click();
    await page().locator('h2', { hasText: TITLE }).first().waitFor({ timeout: 30_000 });
    if (process.env.E2E_DUMP) writeFileSync(join(shots, 'walkthrough.html'), await page().innerHTML());
    await shot('walkthrough');

    await step("Open the seed's model").click();
    await page().locator('a, .button-link', { hasText: 'Open seed.p2p.yaml' }).first().click();
    await wb.page.locator('.tabs-container .tab', { hasText: 'seed.p2p.yaml' }).first().waitFor({ timeout: 30_000 });
    assert.ok(existsSync(join(wb.workspace, 'seed.p2p.yaml')), 'the example is copied into the workspace');
    await wb.page.locator('.tabs-container .tab', { hasText: 'seed.p2p.yaml' }).first().click();
    await hoverOn(wb.page, 'skips: all', 'skips', /skip/i);
    await shot('walkthrough-hover');
    await replaceLine(wb.page, 12, '  skips: [2, 3, 4, 5, 6]');
    await wb.page.locator('.tabs-container .tab', { hasText: 'Welcome' }).first().click();
    for (const title of ["Open the seed's model", 'Read a hover', 'Flip a skip and see the numbers change'])
      await step(title).locator('.codicon-getting-started-step-checked').waitFor({ timeout: 20_000 });
    await shot('walkthrough-done');
    assert.equal(
      await step('Train the tiny config').locator('.codicon-getting-started-step-checked').count(),
      0,
      'not yet trained',
    );
  });
});
