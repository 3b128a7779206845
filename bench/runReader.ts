// The cost of one refresh of a live run in the runs panel, against the run's length: runs of 10k, 100k and 300k
// steps (a step event each, an evaluation and two samples every 100 steps), each refreshed after 10 more steps
// are appended. The peer is a full re-read of the same events.jsonl (readRun, what every refresh did before
// runTail.ts), measured in the same process on the same file.
// Run: npm run bench:runs

import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrainerEvent } from '../src/protocol/trainer';
import { diskFiles } from '../src/runFolders/diskFiles';
import { readRun } from '../src/runFolders/runState';
import { RunTail } from '../src/runFolders/runTail';

const q = (l1: number) => ({ l1, psnr: 20, ssim: 0.5 });
const time = (i: number) => new Date(Date.UTC(2026, 11, 3) + i * 100).toISOString();
const stepLine = (i: number) =>
  JSON.stringify({
    type: 'step',
    payload: { step: i, epoch: i / 40, gTotal: 1, gGan: 0.7, gL1: 1 / i, dLoss: 0.6, imgPerSec: 80, numTensors: 90 },
    time: time(i),
  }) + '\n';

function linesUpTo(from: number, to: number): string {
  const out: string[] = [];
  for (let i = from; i <= to; i++) {
    out.push(stepLine(i));
    if (i % 100 === 0) {
      const evalEvent: TrainerEvent = {
        type: 'eval',
        payload: { step: i, epoch: i / 40, train: q(0.2), test: q(0.4), gap: q(0.2) },
      };
      out.push(JSON.stringify(evalEvent) + '\n');
      for (const split of ['train', 'test'] as const)
        out.push(
          JSON.stringify({
            type: 'sample',
            payload: { step: i, split, path: `samples/${split}-${i}.png`, mode: 'inference' },
          }) + '\n',
        );
    }
  }
  return out.join('');
}

function median(fn: () => void, rounds: number): number {
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const t = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return times.sort((a, b) => a - b)[Math.floor(rounds / 2)];
}

const root = mkdtempSync(join(tmpdir(), 'p2p-bench-runs-'));
const files = diskFiles(() => true);
console.log('steps     file MB   refresh (tail)   full re-read   ratio');
for (const steps of [10_000, 100_000, 300_000]) {
  const dir = join(root, `run-${steps}`);
  const started = {
    type: 'started',
    payload: { runDir: dir, name: 'bench', backend: 'wasm', totalSteps: steps * 2 },
    time: time(0),
  };
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'events.jsonl'), JSON.stringify(started) + '\n' + linesUpTo(1, steps));
  const tail = new RunTail(dir);
  tail.read(files);
  let at = steps;
  const refresh = median(() => {
    appendFileSync(join(dir, 'events.jsonl'), linesUpTo(at + 1, at + 10));
    at += 10;
    tail.read(files);
  }, 30);
  const full = median(() => readRun(dir, files), steps >= 100_000 ? 5 : 15);
  const mb = (statSync(join(dir, 'events.jsonl')).size / 1e6).toFixed(1);
  const cells = [refresh.toFixed(2).padStart(10), full.toFixed(1).padStart(9)];
  console.log(
    `${String(steps).padEnd(9)} ${mb.padStart(7)}   ${cells[0]} ms   ${cells[1]} ms   ${(full / refresh).toFixed(0)}x`,
  );
}
rmSync(root, { recursive: true, force: true });
