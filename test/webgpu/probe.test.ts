// `p2p probe` on WebGPU (the lavapipe adapter in CI): a micro U-Net trained on wasm, probed on webgpu. alpha = 1
// is the unmodified generator there too, and the curves agree with the wasm probe's within float rounding.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Probe } from '../../src/protocol/trainer';
import { microConfig } from '../support/micro';
import { tempDir } from '../support/tempDir';

const cli = join(__dirname, '..', '..', 'dist', 'cli.js');
const work = tempDir('p2p-probe-webgpu-');
const env = { ...process.env, P2P_DATA_DIR: join(work, 'data') };
const p2p = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { cwd: work, env, encoding: 'utf8' });

describe('p2p probe on webgpu', () => {
  it('doses the skips on the GPU as on wasm', () => {
    writeFileSync(join(work, 'm.p2p.yaml'), microConfig(0.4));
    assert.equal(p2p('train', 'm.p2p.yaml', '--steps', '20', '--out', 'runs').status, 0);
    const run = join(work, 'runs', readdirSync(join(work, 'runs'))[0]);
    const probeOn = (backend: string) => {
      const out = p2p('probe', run, '--backend', backend);
      assert.equal(out.status, 0, out.stderr);
      return JSON.parse(
        readFileSync(join(work, 'runs', 'probes', run.split('/').pop()!, 'probe.json'), 'utf8'),
      ) as Probe;
    };
    const wasm = probeOn('wasm');
    const gpu = probeOn('webgpu');
    for (const d of gpu.doses.filter((d) => d.alpha === 1)) assert.deepEqual(d.test, gpu.unmodified.test);
    assert.equal(gpu.doses.length, wasm.doses.length);
    gpu.doses.forEach((d, i) => {
      const w = wasm.doses[i];
      assert.ok(
        Math.abs(d.test.l1 - w.test.l1) < 1e-3,
        `level ${d.level} ${d.mode} @${d.alpha}: ${d.test.l1} vs ${w.test.l1}`,
      );
    });
  });
});
