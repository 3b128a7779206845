// How long the panel takes to draw curves, in headless Chromium: 20 runs of 5,000 steps overlaid on one chart (as
// Compare draws one metric across runs), with smoothing, through webview/charts.ts (uPlot). The peer, in the same
// page: the same points as plain canvas polylines, the least any drawing can cost. Prints the median of 15 renders
// of each and their ratio. `npx tsx bench/curves.ts [--runs N] [--steps N] [--shot FILE]`.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const arg = (name: string, fallback: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const RUNS = Number(arg('runs', '20'));
const STEPS = Number(arg('steps', '5000'));
const root = join(__dirname, '..');

/** The page's script: charts.ts, and both renderers timed over the same series. */
const entry = `
import { chart, mountCharts } from ${JSON.stringify(join(root, 'webview', 'charts.ts'))};
const series = Array.from({ length: ${RUNS} }, (_, r) => ({
  name: 'run ' + r,
  points: Array.from({ length: ${STEPS} }, (_, s) => [s + 1, 0.5 * Math.exp(-s / 1500) + 0.05 * Math.sin(s / 7 + r) + r * 0.01]),
}));
const app = document.getElementById('app');
function uplot() {
  app.innerHTML = chart('Test L1 per run', series);
  mountCharts(app, { smoothing: 0.6, log: false });
}
function canvas() {
  app.innerHTML = '<canvas width="800" height="170"></canvas>';
  const c = app.querySelector('canvas').getContext('2d');
  for (const s of series) {
    c.beginPath();
    s.points.forEach(([x, y], i) => (i ? c.lineTo : c.moveTo).call(c, (x / ${STEPS}) * 800, 170 - y * 170));
    c.stroke();
  }
}
function median(f) {
  const times = [];
  for (let i = 0; i < 15; i++) {
    const t0 = performance.now();
    f();
    times.push(performance.now() - t0);
  }
  return times.sort((a, b) => a - b)[7];
}
window.result = { canvas: median(canvas), uplot: median(uplot) };
`;

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'p2p-curves-'));
  const script = join(dir, 'bench.js');
  await esbuild.build({
    stdin: { contents: entry, resolveDir: root, loader: 'ts' },
    bundle: true,
    format: 'iife',
    outfile: script,
  });
  const css = readFileSync(join(root, 'dist', 'webview', 'main.css'), 'utf8');
  const page = join(dir, 'index.html');
  writeFileSync(
    page,
    `<!DOCTYPE html><html><head><style>${css}</style></head><body><div id="app" style="width:820px"></div><script src="bench.js"></script></body></html>`,
  );
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox'],
  });
  try {
    const tab = await browser.newPage({ viewport: { width: 900, height: 400 } });
    await tab.goto(`file://${page}`);
    const r = (
      await tab.waitForFunction(() => (window as unknown as { result?: unknown }).result)
    ).jsonValue() as Promise<{
      canvas: number;
      uplot: number;
    }>;
    const { canvas, uplot } = await r;
    const shot = arg('shot', '');
    if (shot) await tab.screenshot({ path: shot });
    console.log(`curves: ${RUNS} runs x ${STEPS} steps on one chart, median of 15 renders in Chromium`);
    console.log(`  panel chart (uPlot, smoothing 0.6): ${uplot.toFixed(1)} ms`);
    console.log(`  plain canvas polylines (peer):      ${canvas.toFixed(1)} ms`);
    console.log(`  ratio: ${(uplot / canvas).toFixed(2)}x the peer`);
  } finally {
    await browser.close();
  }
}

void main();
