// Hover and diagnostics latency of the real language server over stdio for the seed config (median, p95),
// against an LSP round trip that does no work (an unknown document's hover) measured on the same connection.
// Run: npm run bench:lsp

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServer } from '../test/support/lspClient';

const seed = readFileSync(join(__dirname, '..', 'examples', 'seed.p2p.yaml'), 'utf8');

function stats(times: number[]) {
  const sorted = [...times].sort((a, b) => a - b);
  return { median: sorted[Math.floor(sorted.length / 2)], p95: sorted[Math.floor(sorted.length * 0.95)] };
}

/** Milliseconds of each of `n` calls. */
async function time(fn: () => Promise<unknown>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = process.hrtime.bigint();
    await fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return out;
}

async function main() {
  const s = await startServer();
  const uri = 'file:///bench/seed.p2p.yaml';
  const first = s.nextDiagnostics(uri, 1);
  s.open(uri, seed, 1);
  await first;
  const lines = seed.split('\n');
  const positions = lines.flatMap((l, line) =>
    l.trim() ? [{ line, character: Math.max(0, l.search(/\S/)) + 1 }] : [],
  );
  let i = 0;
  const hoverCached = () =>
    s.connection.sendRequest('textDocument/hover', {
      textDocument: { uri },
      position: positions[i++ % positions.length],
    });
  const noop = () =>
    s.connection.sendRequest('textDocument/hover', {
      textDocument: { uri: 'file:///none' },
      position: { line: 0, character: 0 },
    });
  let version = 1;
  // A hover right after an edit pays for the analysis of the new text.
  const hoverAfterEdit = async () => {
    version++;
    s.change(uri, version, seed.replace('seed: 0', `seed: ${version}`));
    await hoverCached();
  };
  // Edit to published diagnostics, without the server's 150 ms typing debounce counted.
  const diagnostics = async () => {
    version++;
    const published = s.nextDiagnostics(uri, version);
    s.change(uri, version, seed.replace('seed: 0', `seed: ${version}`));
    await published;
  };
  await time(hoverCached, 200);
  await time(noop, 200);
  const rows: [string, number[]][] = [
    ['hover (analysis cached)', await time(hoverCached, 1000)],
    ['hover right after an edit', await time(hoverAfterEdit, 500)],
    ['edit -> diagnostics (incl. 150 ms debounce)', await time(diagnostics, 40)],
    ['peer: empty LSP round trip', await time(noop, 1000)],
  ];
  const base = stats(rows[rows.length - 1][1]).median;
  for (const [name, t] of rows) {
    const m = stats(t);
    console.log(
      `${name.padEnd(44)} median ${m.median.toFixed(2).padStart(7)} ms   p95 ${m.p95.toFixed(2).padStart(7)} ms   ${(m.median / base).toFixed(1)}x round trip`,
    );
  }
  const hoverP95 = Math.max(stats(rows[0][1]).p95, stats(rows[1][1]).p95);
  console.log(`hover p95 ${hoverP95.toFixed(2)} ms: ${hoverP95 < 10 ? 'within' : 'OVER'} the 10 ms target`);
  await s.close();
}

void main();
