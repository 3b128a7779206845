// `p2p evaluate` through the CLI and the real trainer process: every kept checkpoint of a run evaluated again
// gives, row for row, the run's own evaluation at that step (the same weights, data and random streams), written
// beside the run and never inside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';

const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
const work = tempDir('p2p-evaluate-');
const env = { ...process.env, P2P_DATA_DIR: join(work, 'data') };
const p2p = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: work, env, encoding: 'utf8' });

/** Every file of a folder with its size and modification time. */
const snapshot = (dir: string) =>
  readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((f) => `${f} ${statSync(f).size} ${statSync(f).mtimeMs}`)
    .sort();

describe('p2p evaluate', () => {
  it("evaluates a run's 5 checkpoints again into 5 rows equal to its own at those steps", () => {
    // An evaluation every 10 steps (0.2 of 50 steps an epoch) and a checkpoint every 10, 5 kept.
    const config = microConfig(0.2).replace('  backend: wasm', '  checkpoint: { steps: 10, keep: 5 }\n  backend: wasm');
    writeFileSync(join(work, 'e.p2p.yaml'), config);
    assert.equal(p2p('train', 'e.p2p.yaml', '--steps', '40', '--out', 'runs').status, 0);
    const run = join(work, 'runs', readdirSync(join(work, 'runs'))[0]);
    const before = snapshot(run);
    const all = p2p('evaluate', run, '--all', '--backend', 'wasm');
    assert.equal(all.status, 0, all.stderr);
    const file = join(work, 'runs', 'evaluations', run.split('/').pop()!, 'evaluations.csv');
    const rows = readFileSync(file, 'utf8').trim().split('\n');
    const own = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n');
    assert.equal(rows.length, 6, 'the header and 5 checkpoints');
    assert.deepEqual(rows, own, 'the same header and rows, step for step');
    assert.match(all.stdout, /^40 .*best test L1$/m);
    assert.deepEqual(snapshot(run), before, 'nothing written into the run folder');
    // One checkpoint: its row alone.
    const one = p2p('evaluate', run, '--step', '20', '--backend', 'wasm');
    assert.equal(one.status, 0, one.stderr);
    assert.deepEqual(readFileSync(file, 'utf8').trim().split('\n'), [own[0], own[3]]);
    const missing = p2p('evaluate', run, '--step', '15');
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /p2p evaluate: .*15/);
  });
});
