// `p2p probe` through the CLI and the real trainer process, on a trained micro U-Net: a dose-response curve per
// skip and mode, alpha = 1 is the run's own evaluation at that step (the unmodified loss), and everything is
// written beside the run, never inside it.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Probe } from '../../src/protocol/trainer';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';

const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
const work = tempDir('p2p-probe-');
const env = { ...process.env, P2P_DATA_DIR: join(work, 'data') };
const p2p = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: work, env, encoding: 'utf8' });

describe('p2p probe', () => {
  it("doses each skip of a trained U-Net from 0 to 1; alpha = 1 is the run's own evaluation", () => {
    writeFileSync(join(work, 'm.p2p.yaml'), microConfig(0.4));
    assert.equal(p2p('train', 'm.p2p.yaml', '--steps', '40', '--out', 'runs').status, 0);
    const run = join(work, 'runs', readdirSync(join(work, 'runs'))[0]);
    const before = readdirSync(run, { recursive: true }).sort();
    const out = p2p('probe', run, '--skips', '--backend', 'wasm');
    assert.equal(out.status, 0, out.stderr);
    const probe = JSON.parse(
      readFileSync(join(work, 'runs', 'probes', run.split('/').pop()!, 'probe.json'), 'utf8'),
    ) as Probe;
    assert.equal(probe.step, 40);
    assert.deepEqual(
      probe.skips.map((s) => [s.level, s.encoderLevel]),
      [
        [1, 2],
        [2, 1],
      ],
    );
    assert.equal(probe.doses.length, 2 * 2 * 5, 'a curve of 5 doses per skip and mode');
    const metrics = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n').at(-1)!.split(',');
    assert.equal(probe.unmodified.test.l1.toFixed(5), metrics[5], "the unmodified model is the run's evaluation");
    for (const d of probe.doses.filter((d) => d.alpha === 1)) assert.deepEqual(d.test, probe.unmodified.test);
    for (const d of probe.doses.filter((d) => d.alpha === 0)) assert.notEqual(d.test.l1, probe.unmodified.test.l1);
    assert.match(out.stdout, /^1 +scale +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+ +[\d.]+$/m);
    for (const f of [probe.figures.unmodified, ...probe.figures.alphaZero.map((a) => a.image)])
      assert.ok(existsSync(f), f);
    assert.equal(probe.figures.alphaZero.length, 4);
    assert.deepEqual(readdirSync(run, { recursive: true }).sort(), before, 'nothing written into the run folder');
  });
});
