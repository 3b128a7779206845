// End to end, a newcomer's first hour (code-server + Chromium): a config typed from an empty file with the
// suggestions that appear while typing, quick fixes, a refused training that opens nothing, the panel at 450 px
// beside the editor, a stop that says where it stopped, and the panel and a hover in dark and high-contrast themes.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FrameLocator, Page } from 'playwright-core';
import {
  dismissHover,
  hoverOn,
  openFile,
  resizePanel,
  root,
  runCommand,
  runsPanel,
  startWorkbench,
  type Workbench,
} from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');
const statusItem = '[id="p2p-ablation-lab.p2p-ablation-lab.p2p.params"]';
// Long enough to be stopped mid-run on any machine.
const long = (name: string) =>
  readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8')
    .replace('name: tiny', `name: ${name}`)
    .replace('epochs: 5', 'epochs: 400');

/** Waits for the suggestion list to offer `label` (opened by typing alone), then accepts it with Enter. */
async function accept(page: Page, label: string): Promise<void> {
  const named = (rows: string) =>
    page.locator(rows, { has: page.locator('.label-name', { hasText: new RegExp(`^${label}$`) }) }).first();
  await named('.suggest-widget .monaco-list-row').waitFor({ state: 'visible', timeout: 20_000 });
  const focused = named('.suggest-widget .monaco-list-row.focused');
  for (let i = 0; i < 12 && !(await focused.count()); i++) await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
}

/** Goes to line:column (Ctrl+G), opens the quick fixes (Ctrl+.) and applies the one titled `title`. */
async function quickFix(page: Page, line: number, column: number, title: string): Promise<void> {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.fill(`:${line}:${column}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10_000 });
  const action = page.locator('.action-widget .monaco-list-row.action', { hasText: title }).first();
  // The code actions are asked for once the diagnostics under the cursor are in: ask again if the list came first.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press('Control+.');
    try {
      await action.waitFor({ state: 'visible', timeout: 8_000 });
      break;
    } catch (e) {
      await page.keyboard.press('Escape');
      if (attempt === 3) throw e;
    }
  }
  await action.click();
}

/** The active editor's first lines as shown: the text's tokens (\`mtk\` spans), without inlay hints. */
const editorText = (page: Page, lines: number) =>
  page
    .locator('.editor-group-container.active .monaco-editor .view-lines')
    .first()
    .evaluate(
      (el, n) =>
        Array.from(el.querySelectorAll<HTMLElement>('.view-line'))
          .sort((a, b) => a.offsetTop - b.offsetTop)
          .slice(0, n)
          .map((l) =>
            Array.from(l.querySelectorAll('span[class*=mtk]'))
              .map((s) => s.textContent)
              .join('')
              .replace(/\u00a0/g, ' '),
          ),
      lines,
    );

/** Each line begins with the expected text (an inlay hint may follow it). */
function startsWith(lines: string[], expected: string[]): void {
  assert.deepEqual(
    lines.map((l, i) => l.slice(0, expected[i].length)),
    expected,
    JSON.stringify(lines),
  );
}

describe("a newcomer's first hour in the editor (code-server)", () => {
  let wb: Workbench;
  let panel: FrameLocator;
  const shot = (name: string) => wb.page.screenshot({ path: join(shots, `${name}.png`) });
  const panelTab = () => wb.page.locator('.tabs-container .tab', { hasText: 'pix2pix Runs' });
  const toast = (text: string | RegExp) =>
    wb.page.locator('.notifications-toasts .notification-toast', { hasText: text });

  before(async () => {
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), {
      'first.p2p.yaml': '',
      'typos.p2p.yaml': 'generator:\n  filtres: 32\n  skips: [1, 9]\n',
      'broken.p2p.yaml': 'input:\n  size: 200\n',
      'first-run.p2p.yaml': long('first-run'),
      'second-run.p2p.yaml': long('second-run'),
    });
    panel = runsPanel(wb.page);
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('types a config from an empty file with the suggestions shown while typing', async () => {
    const { page } = wb;
    await openFile(page, 'first.p2p.yaml');
    await page.locator(statusItem).waitFor({ timeout: 60_000 });
    await page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
    await page.keyboard.type('gen', { delay: 60 });
    await accept(page, 'generator'); // inserts `generator:` and indents the next line
    await page.keyboard.type('sk', { delay: 60 });
    await accept(page, 'skips'); // inserts `skips: ` and lists its values at once
    await accept(page, 'none');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Backspace'); // out of `generator:`
    await page.keyboard.type('inp', { delay: 60 });
    await accept(page, 'input');
    await page.keyboard.type('si', { delay: 60 });
    await accept(page, 'size');
    await accept(page, '64');
    await page.keyboard.press('Escape');
    startsWith(await editorText(page, 4), ['generator:', '  skips: none', 'input:', '  size: 64']);
    await page.locator(statusItem, { hasText: /G [\d,]+ · D [\d,]+ params/ }).waitFor({ timeout: 20_000 });
    await shot('50-typed-from-empty');
  });

  it('applies quick fixes for a misspelt key and an out-of-range level', async () => {
    const { page } = wb;
    await openFile(page, 'typos.p2p.yaml');
    await page.locator(statusItem, { hasText: '2 errors' }).waitFor({ timeout: 30_000 });
    await page.locator('.monaco-editor .squiggly-error').first().waitFor({ timeout: 20_000 });
    await quickFix(page, 2, 4, "Change to 'filters'");
    await page.locator(statusItem, { hasText: '1 error' }).waitFor({ timeout: 20_000 });
    await shot('51-quick-fix-level');
    await quickFix(page, 3, 14, "Change to '6' (the last decoder level)");
    await page.locator(statusItem, { hasText: /G [\d,]+ · D/ }).waitFor({ timeout: 20_000 });
    startsWith(await editorText(page, 3), ['generator:', '  filters: 32', '  skips: [1, 6]']);
  });

  it('refuses to train a config with errors without opening the panel', async () => {
    const { page } = wb;
    await openFile(page, 'broken.p2p.yaml');
    await page.locator(statusItem, { hasText: '1 error' }).waitFor({ timeout: 30_000 });
    await runCommand(page, 'pix2pix: Train Current Config');
    await toast(/broken\.p2p\.yaml has 1 error; fix them before training/).waitFor({ timeout: 30_000 });
    await page.waitForTimeout(1500);
    assert.equal(await panelTab().count(), 0, 'no runs panel');
    await shot('52-refused-no-panel');
  });

  it('opens the panel for a training that starts, readable and stoppable at 450 px', async () => {
    const { page } = wb;
    await openFile(page, 'first-run.p2p.yaml');
    await runCommand(page, 'pix2pix: Train Current Config');
    await panel.locator('.run-title h2', { hasText: 'first-run' }).waitFor({ timeout: 120_000 });
    await panel.locator('.run-title .muted', { hasText: /running · step [1-9]/ }).waitFor({ timeout: 120_000 });
    await resizePanel(page, 450);
    const frame = (await page.locator('iframe.webview').last().boundingBox())!;
    assert.ok(Math.abs(frame.width - 450) < 25, `panel width ${frame.width}`);
    const stop = panel.locator('table.runs tr.selected button[data-stop]');
    await shot('53-panel-450px');
    const box = (await stop.boundingBox())!;
    assert.ok(box.x >= frame.x && box.x + box.width <= frame.x + frame.width, 'Stop is inside the panel');
    await sameStep(page, panel);
    // The table scrolls sideways under the sticky Stop, and stays scrolled while the panel re-renders.
    const scroller = panel.locator('.table-scroll').first();
    const scrolled = await scroller.evaluate((el) => {
      el.scrollLeft = el.scrollWidth;
      return el.scrollLeft;
    });
    await page.waitForTimeout(1500);
    assert.equal(await scroller.evaluate((el) => el.scrollLeft), scrolled);
    await shot('53-panel-450px');
  });

  it('says where a stopped run stopped, with Resume, and clears "stop it first" when it stops', async () => {
    const { page } = wb;
    await focusEditor(page); // keys typed in the panel's webview stay there
    await openFile(page, 'second-run.p2p.yaml');
    await runCommand(page, 'pix2pix: Train Current Config');
    const busy = toast(/first-run\.p2p\.yaml is training \(step \d+\); stop it first/);
    await busy.waitFor({ timeout: 20_000 });
    await panel.locator('table.runs tr.selected button[data-stop]').click();
    const stopped = toast(
      /stopped first-run\.p2p\.yaml at step \d+\/\d+; checkpoint at step \d+ in \d{8}-\d{6}-first-run\./,
    );
    await stopped.waitFor({ timeout: 60_000 });
    await busy.waitFor({ state: 'hidden', timeout: 20_000 });
    await shot('54-stopped-with-resume');
    await stopped.locator('.monaco-button', { hasText: 'Resume' }).click();
    await panel.locator('.run-title .muted', { hasText: /running/ }).waitFor({ timeout: 120_000 });
    await panel.locator('table.runs tr.selected button[data-stop]').click();
    await panel.locator('.run-title .muted', { hasText: /stopped/ }).waitFor({ timeout: 60_000 });
  });

  it('selects and follows a run started while another is selected', async () => {
    const { page } = wb;
    await focusEditor(page); // keys typed in the panel's webview stay there
    await openFile(page, 'second-run.p2p.yaml');
    await runCommand(page, 'pix2pix: Train Current Config');
    await panel.locator('.run-title h2', { hasText: 'second-run' }).waitFor({ timeout: 120_000 });
    await panel.locator('table.runs tr.selected', { hasText: 'second-run' }).waitFor({ timeout: 20_000 });
    await panel.locator('.run-title .muted', { hasText: /running · step [1-9]/ }).waitFor({ timeout: 120_000 });
  });

  it('shows the panel and a hover in the dark and the high-contrast themes', async () => {
    const { page } = wb;
    // Stopped first: a training on a 2-core machine can starve the hover of CPU for longer than a person waits.
    await panel.locator('table.runs tr.selected button[data-stop]').click();
    await panel.locator('.run-title .muted', { hasText: /stopped/ }).waitFor({ timeout: 60_000 });
    for (const [theme, name] of [
      ['Dark Modern', '55-dark'],
      ['Dark High Contrast', '56-high-contrast'],
      ['Light Modern', ''],
    ]) {
      await page.keyboard.press('Control+K');
      await page.keyboard.press('Control+T');
      await page.locator('.quick-input-widget .quick-input-box input').waitFor();
      await page.keyboard.type(theme);
      await page.locator('.quick-input-widget .monaco-list-row', { hasText: theme }).first().waitFor();
      await page.keyboard.press('Enter');
      await panel.locator('.plot canvas').first().waitFor();
      if (!name) continue;
      await hoverOn(page, 'skips', 'skips', /Skip connections/);
      await page.waitForTimeout(300);
      await shot(name);
      await dismissHover(page);
    }
  });
});

/** Focuses the editor's group (left of the panel), so that the next keys reach the workbench. */
async function focusEditor(page: Page): Promise<void> {
  await page.locator('.editor-group-container').first().locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+1');
}

/** The training notification and the panel's table show the same step (read between two readings of the notification). */
async function sameStep(page: Page, panel: FrameLocator): Promise<void> {
  const note = page.locator('.notifications-toasts .notification-toast', { hasText: 'pix2pix: training' });
  const noteStep = async () => Number(/step (\d+)\//.exec(await note.innerText())?.[1] ?? NaN);
  const tableStep = async () =>
    Number((await panel.locator('table.runs tr.selected td.num').nth(1).innerText()).split('/')[0]);
  const seen: number[][] = [];
  for (let attempt = 0; attempt < 5; attempt++) {
    const [a, t, b] = [await noteStep(), await tableStep(), await noteStep()];
    seen.push([a, t, b]);
    if (a === b && t === a) return;
    await page.waitForTimeout(120);
  }
  assert.fail(`notification and table steps differ: ${JSON.stringify(seen)}`);
}
