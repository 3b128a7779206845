// Training-step throughput (generator + discriminator updates, img/s) of the seed model (128x128, batch 5) and
// of examples/tiny.p2p.yaml, for each tfjs backend that loads here and for PyTorch CPU (Debian python3-torch)
// on the same architecture (built from the same layer graph) in the same run, with the ratios.
// Run: npm run bench:train   (P2P_BENCH_QUICK=1 skips the slow cpu-backend seed step)

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { analyze } from '../src/core/analysis';

interface Result {
  backend: string;
  imgPerSec?: number;
  msPerStep?: number;
  warmMs?: number;
  error?: string;
  params?: number[];
}

const root = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'p2p-bench-'));

function child(cmd: string, args: string[], timeoutMs: number): Result {
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env } });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT')
    return { backend: args[args.length - 2] ?? cmd, error: `over ${timeoutMs / 1000} s, stopped` };
  const line = r.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    return { backend: cmd, error: (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.status}` };
  }
}

function torchAvailable(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

const cases = [
  {
    label: 'seed (128x128x1 -> 3, batch 5)',
    file: 'examples/seed.p2p.yaml',
    steps: { wasm: 1, cpu: 0, torch: 3 },
    cpuTimeout: 420_000,
  },
  {
    label: 'tiny (32x32x1 -> 3, batch 5)',
    file: 'examples/tiny.p2p.yaml',
    steps: { wasm: 10, cpu: 3, torch: 20 },
    cpuTimeout: 300_000,
  },
];

const hasTorch = torchAvailable();
/** Per case, wasm's img/s against PyTorch CPU on one thread and on two: the figures the README quotes. */
const summary: string[] = [];
const torchVersion = hasTorch
  ? execFileSync('/usr/bin/python3', ['-c', 'import torch; print(torch.__version__)']).toString().trim()
  : 'not installed (apt-get install python3-torch)';
console.log(`node ${process.version}; PyTorch CPU ${torchVersion}`);
console.log('tfjs wasm runs one thread; PyTorch is measured with 1 thread (same count) and with 2 (both cores).\n');

for (const c of cases) {
  const a = analyze(readFileSync(join(root, c.file), 'utf8'));
  const gen = join(work, 'gen.json');
  const disc = join(work, 'disc.json');
  const cfg = join(work, 'cfg.json');
  writeFileSync(gen, JSON.stringify(a.generator));
  writeFileSync(disc, JSON.stringify(a.discriminator));
  writeFileSync(cfg, JSON.stringify(a.config));
  const results: Result[] = [];
  if (hasTorch) {
    for (const threads of [1, 2])
      results.push(
        child(
          '/usr/bin/python3',
          ['bench/torch_step.py', gen, disc, cfg, String(threads), String(c.steps.torch)],
          600_000,
        ),
      );
  }
  const peer = results[0]?.imgPerSec;
  for (const backend of ['tensorflow', 'webgpu', 'wasm', 'cpu'] as const) {
    if (backend === 'cpu' && c.steps.cpu === 0 && process.env.P2P_BENCH_QUICK) continue;
    const steps = backend === 'cpu' ? c.steps.cpu : c.steps.wasm;
    const r = child(
      process.execPath,
      ['--import', 'tsx', 'bench/trainStep.ts', c.file, backend, String(steps)],
      backend === 'cpu' ? c.cpuTimeout : 900_000,
    );
    results.push({ ...r, backend: r.backend && !r.error ? r.backend : backend });
  }
  console.log(
    `${c.label}: generator ${a.generator!.totals.params.toLocaleString('en-US')} + ` +
      `discriminator ${a.discriminator!.totals.params.toLocaleString('en-US')} params`,
  );
  if (hasTorch && results[0].params)
    console.log(
      `  PyTorch model from the same graph: ${results[0].params.map((p) => p.toLocaleString('en-US')).join(' + ')} params`,
    );
  for (const r of results) {
    if (r.error) {
      console.log(`  ${r.backend.padEnd(18)} n/a: ${r.error}`);
      continue;
    }
    const ratio = peer ? `  ${(r.imgPerSec! / peer).toFixed(3)}x PyTorch-1t` : '';
    console.log(
      `  ${r.backend.padEnd(18)} ${r.imgPerSec!.toFixed(2).padStart(8)} img/s  ${(r.msPerStep! / 1000).toFixed(2).padStart(7)} s/step${ratio}`,
    );
  }
  console.log('');
  const wasm = results.find((r) => r.backend === 'wasm' && !r.error);
  const [one, two] = results;
  if (wasm && one?.imgPerSec && two?.imgPerSec)
    summary.push(
      `  ${c.label.split(' ')[0].padEnd(5)} wasm ${wasm.imgPerSec!.toFixed(2)} img/s: ` +
        `${(wasm.imgPerSec! / one.imgPerSec).toFixed(3)}x PyTorch CPU on 1 thread, ` +
        `${(wasm.imgPerSec! / two.imgPerSec).toFixed(3)}x on 2`,
    );
}
if (summary.length) console.log(`wasm against PyTorch CPU in this run:\n${summary.join('\n')}`);
