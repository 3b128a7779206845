// Faults a run must survive, each driven through the real trainer process: two writers at once, a kill in the first
// epoch, every checkpoint file broken in turn, garbled hints and states, a torn events.jsonl, a lost metrics.csv,
// a config edited between a stop and a resume, and a disk that fills during a checkpoint.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { checkpointProblem, keptCheckpoints } from '../../src/runFolders/checkpoints';
import { RunDir } from '../../src/runFolders/runDir';
import { parseJsonLines } from '../../src/runFolders/jsonl';
import type { TrainerEvent } from '../../src/protocol/trainer';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';
import { stepsOf, tensorboardEvents } from '../support/tensorboardEvents';
import { ofType, startTrainer } from '../support/trainerRun';

const trainerJs = join(__dirname, '..', '..', 'dist', 'trainer.js');
const work = tempDir('p2p-faults-');
const dataDir = join(work, 'data');
// 50 steps an epoch, an evaluation every 10 steps, a checkpoint every 10 steps too.
const config = join(work, 'micro.p2p.yaml');
writeFileSync(config, microConfig(0.2) + '  checkpoint: { steps: 10 }\n');

const start = (args: string[]) => startTrainer(trainerJs, ['--builtin-root', dataDir, ...args]);
const events = (dir: string) => parseJsonLines<TrainerEvent>(readFileSync(join(dir, 'events.jsonl'), 'utf8'));
const warnings = (evs: TrainerEvent[]) => ofType(evs, 'warning').map((e) => e.payload.message);
const metricSteps = (dir: string) =>
  readFileSync(join(dir, 'metrics.csv'), 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => Number(l.split(',')[0]));

/** A completed run of `steps` steps (checkpoints at 0, 10, 20, ...), trained once and copied for each fault. */
let trained: string | undefined;
async function trainedRun(): Promise<string> {
  if (trained) return trained;
  const run = start(['--config', config, '--out', join(work, 'base'), '--steps', '20']);
  assert.equal(await run.exit, 0, run.trainer.stderr);
  trained = ofType(run.events, 'started')[0].payload.runDir;
  return trained;
}

let copies = 0;
async function copyOfRun(): Promise<string> {
  const dir = join(work, 'copies', `run-${copies++}`);
  cpSync(await trainedRun(), dir, { recursive: true });
  return dir;
}

/** Resumes `dir` to `steps`; its exit status, events and stderr. */
async function resume(dir: string, steps = 30) {
  const run = start(['--resume', dir, '--steps', String(steps)]);
  const code = await run.exit;
  return { code, events: run.events, stderr: run.trainer.stderr };
}

describe('faults a run survives', () => {
  it('lets one writer in: of two resumes started at once, one refuses and names the holder', async () => {
    const dir = await copyOfRun();
    const [a, b] = [start(['--resume', dir, '--steps', '60']), start(['--resume', dir, '--steps', '60'])];
    const codes = await Promise.all([a.exit, b.exit]);
    assert.deepEqual([...codes].sort(), [0, 1], `exits ${codes}`);
    const refused = codes[0] === 1 ? a : b;
    assert.match(refused.trainer.stderr, /is in use by process \d+ on .+ since .+run\.lock/);
    const steps = ofType(events(dir), 'step').map((e) => e.payload.step);
    assert.deepEqual(
      steps,
      Array.from({ length: 60 }, (_, i) => i + 1),
      'every step once',
    );
    assert.equal(existsSync(join(dir, 'run.lock')), false, 'the lock is released at the end');
  });

  it('gives two runs started in the same second two folders, each claimed by mkdir', () => {
    const now = new Date(2026, 11, 3, 7, 30, 0);
    const [a, b] = [
      RunDir.create(join(work, 'same-second'), 'micro', now),
      RunDir.create(join(work, 'same-second'), 'micro', now),
    ];
    assert.notEqual(a.dir, b.dir);
    assert.match(b.dir, /-micro-2$/);
    for (const r of [a, b]) {
      assert.ok(existsSync(join(r.dir, 'run.lock')));
      r.lock.release();
    }
  });

  it('resumes a run killed in its first epoch, from the checkpoint at step 0', async () => {
    const run = start(['--config', config, '--out', join(work, 'first-epoch'), '--steps', '400']);
    await run.waitFor((e) => e.type === 'step' && e.payload.step >= 5);
    run.trainer.kill();
    await run.exit;
    const dir = ofType(run.events, 'started')[0].payload.runDir;
    assert.ok(keptCheckpoints(dir).some((c) => c.step === 0));
    const resumed = await resume(dir, 8);
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.ok(ofType(resumed.events, 'started')[0].payload.startStep < 5, 'from a checkpoint before the kill');
    assert.ok(warnings(resumed.events).some((w) => /took over a stale lock .*: process \d+ is gone/.test(w)));
  });

  it('falls back past a checkpoint with any one file truncated or deleted, naming the file', async () => {
    const newest = keptCheckpoints(await trainedRun()).at(-1)!;
    assert.equal(newest.step, 20);
    const files = readdirSync(newest.dir).sort();
    assert.ok(files.includes('manifest.json') && files.length >= 10, files.join(', '));
    for (const [i, file] of files.entries()) {
      const dir = await copyOfRun();
      const broken = join(dir, 'checkpoints', 'step-0000020', file);
      // Every other file deleted; the manifest always truncated (a checkpoint without one is an older run's).
      if (i % 2 && file !== 'manifest.json') rmSync(broken);
      else truncateSync(broken, Math.floor(statSync(broken).size / 2));
      const r = await resume(dir, 21);
      assert.equal(r.code, 0, `${file}: ${r.stderr}`);
      assert.equal(ofType(r.events, 'started')[0].payload.startStep, 10, `${file} broken: back to step 10`);
      const skipped = warnings(r.events).find((w) => w.startsWith('skipped the checkpoint at step 20'));
      assert.ok(skipped?.includes(file), `${file}: ${warnings(r.events).join(' | ')}`);
    }
  });

  it('ignores a garbled latest.json and falls back past a garbled state.json in a checkpoint without manifest', async () => {
    const dir = await copyOfRun();
    writeFileSync(join(dir, 'checkpoints', 'latest.json'), '{"step": 9');
    const newest = join(dir, 'checkpoints', 'step-0000020');
    rmSync(join(newest, 'manifest.json'));
    writeFileSync(join(newest, 'state.json'), '{"step": 20, "ord');
    const r = await resume(dir, 21);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(ofType(r.events, 'started')[0].payload.startStep, 10);
    assert.ok(warnings(r.events).some((w) => /step-0000020\/state\.json is not valid JSON/.test(w)));
  });

  it('cuts a torn last line of events.jsonl and rebuilds a deleted metrics.csv with every row', async () => {
    const dir = await copyOfRun();
    appendFileSync(join(dir, 'events.jsonl'), '{"type":"step","payload":{"st');
    rmSync(join(dir, 'metrics.csv'));
    const r = await resume(dir, 30);
    assert.equal(r.code, 0, r.stderr);
    const said = warnings(r.events);
    assert.ok(
      said.some((w) => /cut off a torn last line of .*events\.jsonl/.test(w)),
      said.join(' | '),
    );
    assert.ok(said.some((w) => /metrics\.csv was missing: rebuilt from events\.jsonl \(3 evaluations\)/.test(w)));
    assert.deepEqual(metricSteps(dir), [0, 10, 20, 30]);
    const all = events(dir);
    assert.equal(ofType(all, 'started').length, 2, "the resumed run's start is recorded");
    assert.equal(readFileSync(join(dir, 'events.jsonl'), 'utf8').split('\n').filter(Boolean).length, all.length);
  });

  it('refuses an edited architecture by key, and records a change that is safe mid-run', async () => {
    const dir = await copyOfRun();
    const file = join(dir, 'config.p2p.yaml');
    const text = readFileSync(file, 'utf8');
    writeFileSync(file, text.replace('filters: 4', 'filters: 8'));
    const refused = await resume(dir, 30);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /changed since the run started: generator\.filters 4 → 8.*cannot change mid-run/);
    writeFileSync(file, text.replace('sampleEvery: 0.2', 'sampleEvery: 0.1'));
    const r = await resume(dir, 30);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(warnings(r.events).some((w) => /train\.sampleEvery 0\.2 → 0\.1; applied from step 20/.test(w)));
    assert.equal(JSON.parse(readFileSync(join(dir, 'resolved.json'), 'utf8')).config.train.sampleEvery, 0.1);
    assert.deepEqual(metricSteps(dir), [0, 10, 20, 25, 30], 'evaluations every 5 steps from the resume');
  });

  it('refuses a config that cannot fit before it loads data or makes a run folder, with the estimate', async () => {
    const big = join(work, 'big.p2p.yaml');
    // The seed model at 1024 px: about 51 GiB a step.
    writeFileSync(big, 'input: { size: 1024 }\ntrain: { data: { train: builtin:faces }, backend: wasm }\n');
    const run = start(['--config', big, '--out', join(work, 'big-runs'), '--steps', '5']);
    assert.equal(await run.exit, 1);
    assert.match(
      run.trainer.stderr,
      /a training step needs about [\d.]+ GiB \(parameters .*; activations at batch 5: [\d.]+ GiB\), more than the wasm backend's 4\.0 GiB/,
    );
    assert.equal(existsSync(join(work, 'big-runs')), false, 'no run folder');
  });
});

/** A small tmpfs, root only (CI runs as root): where a disk can be filled without filling the machine's. */
function smallDisk(): string | undefined {
  const dir = join(work, 'tmpfs');
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', dir], { stdio: 'pipe' });
    return dir;
  } catch {
    return undefined;
  }
}

/** Fills `dir`'s file system, then frees `spare` bytes: room for events, none for a checkpoint. */
function fill(dir: string, spare: number): string {
  const filler = join(dir, 'filler');
  const chunk = Buffer.alloc(64 * 1024);
  try {
    for (;;) appendFileSync(filler, chunk);
  } catch {
    // ENOSPC: full
  }
  truncateSync(filler, Math.max(0, statSync(filler).size - spare));
  return filler;
}

describe('a full disk', () => {
  const disk = process.getuid?.() === 0 ? smallDisk() : undefined;
  after(() => disk && execFileSync('umount', [disk]));

  it(
    'keeps the previous checkpoint and no temporary when a checkpoint does not fit, and resumes once space is freed',
    {
      skip: disk ? false : 'needs root to mount a small tmpfs',
    },
    async () => {
      const run = start(['--config', config, '--out', disk!, '--steps', '400']);
      await run.waitFor((e) => e.type === 'checkpoint' && e.payload.step === 10);
      const filler = fill(disk!, 96 * 1024);
      assert.equal(await run.exit, 1);
      const dir = ofType(run.events, 'started')[0].payload.runDir;
      const error = ofType(run.events, 'error')[0]?.payload.message ?? '';
      assert.match(error, /the checkpoint at step \d+ could not be written \(.*ENOSPC.*\); the earlier ones are kept/);
      const leftovers = readdirSync(join(dir, 'checkpoints')).filter((n) => n.includes('.tmp-'));
      assert.deepEqual(leftovers, [], 'nothing temporary left');
      const kept = keptCheckpoints(dir);
      assert.ok(kept.length && kept.every((c) => checkpointProblem(c.dir) === undefined), 'the kept ones are intact');
      rmSync(filler);
      const r = await resume(dir, 45);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(ofType(r.events, 'started')[0].payload.startStep, kept.at(-1)!.step);
      // TensorBoard's copy holds whole records only, and each step's losses once, whatever the full disk left out.
      const losses = stepsOf(tensorboardEvents(dir), 'loss/D');
      assert.deepEqual(
        losses,
        [...new Set(losses)].sort((a, b) => a - b),
      );
      assert.equal(losses.at(-1), 45);
    },
  );
});
