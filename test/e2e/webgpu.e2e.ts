// End to end: a config with `backend: webgpu` trained from the editor (on lavapipe in CI), and the runs panel
// naming the backend and the adapter it ran on.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFile, root, runCommand, runsPanel, startWorkbench, type Workbench } from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');
// One epoch of the tiny example (40 steps), evaluated at 0, 20 and 40.
const config = readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8')
  .replace('name: tiny', 'name: on-webgpu')
  .replace('epochs: 5', 'epochs: 1')
  .replace('seed: 1', 'seed: 1\n  backend: webgpu');

describe('training on WebGPU from the editor (code-server)', () => {
  let wb: Workbench;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), { 'gpu.p2p.yaml': config });
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('trains a config with backend: webgpu, and the panel shows the backend and the adapter', async () => {
    await openFile(wb.page, 'gpu.p2p.yaml');
    await wb.page.locator('[id="p2p-ablation-lab.p2p-ablation-lab.p2p.params"]').waitFor({ timeout: 60_000 });
    await runCommand(wb.page, 'pix2pix: Train Current Config');
    const panel = runsPanel(wb.page);
    const row = panel.locator('tr[data-run]', { hasText: 'on-webgpu' });
    await row.locator('.status', { hasText: 'completed' }).waitFor({ timeout: 240_000 });
    assert.equal(await row.locator('td').nth(3).innerText(), 'webgpu');
    const header = panel.locator('p.run-backend');
    await header.waitFor({ timeout: 20_000 });
    // lavapipe in CI; the GPU's own name where there is one.
    assert.match(await header.innerText(), /^Backend webgpu: .+ \(.+\)/);
    await wb.page.screenshot({ path: join(shots, '20-panel-webgpu.png') });
  });
});
