// End to end: an ablation with `executor: slurm` run from the editor against the one-node cluster that .ci/run
// starts (scripts/slurm-cluster.sh; SLURM_CONF in the environment), watched and cancelled in the Ablations tab.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { FrameLocator } from 'playwright-core';
import { openFile, root, runCommand, runsPanel, startWorkbench, type Workbench } from './codeServer';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');

// Three variants, one task at a time: while the first trains, the others wait on the array's limit.
const sweep =
  readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8')
    .replace('name: tiny', 'name: cluster')
    .replace('levels: 5', 'levels: 3') +
  'ablation:\n  name: e2e-slurm\n  steps: 3000\n  progressiveSkips: shallowFirst\n  executor: slurm\n' +
  '  slurm: { parallel: 1, time: "30" }\n';

describe('an ablation on SLURM from the editor (code-server)', () => {
  let wb: Workbench;
  let panel: FrameLocator;
  const shot = (name: string) => wb.page.screenshot({ path: join(shots, `${name}.png`) });

  before(async () => {
    try {
      execFileSync('sinfo', ['-h'], { stdio: 'pipe' });
    } catch {
      throw new Error('no SLURM cluster answers: `bash scripts/slurm-cluster.sh start DIR`, then export SLURM_CONF');
    }
    mkdirSync(shots, { recursive: true });
    wb = await startWorkbench(vsixPath(hostTarget()), { 'cluster.p2p.yaml': sweep });
    panel = runsPanel(wb.page);
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
  });

  it('submits the array, shows each variant scheduler state, and cancels it', async () => {
    await openFile(wb.page, 'cluster.p2p.yaml');
    await wb.page
      .locator('.editor-group-container.active .codelens-decoration a', { hasText: 'Run Ablation' })
      .waitFor({
        timeout: 60_000,
      });
    await runCommand(wb.page, 'pix2pix: Run Ablation');
    const table = panel.locator('table.ablation');
    const status = (variant: string) => table.locator('tr', { hasText: variant }).locator('td.status');
    await status('skips-all')
      .filter({ hasText: /running at \d+/ })
      .waitFor({ timeout: 120_000 });
    await status('skips-none').filter({ hasText: 'pending (JobArrayTaskLimit)' }).waitFor({ timeout: 30_000 });
    await panel.locator('.scheduler', { hasText: /SLURM job \d+ · .*1 running.*2 pending/ }).waitFor();
    await status('skips-none').scrollIntoViewIfNeeded(); // the table scrolls sideways in a narrow panel
    await shot('30-panel-ablation-slurm');

    await panel.locator('button', { hasText: 'Cancel ablation' }).click();
    for (const v of ['skips-all', 'skips-1', 'skips-none'])
      await status(v)
        .filter({ hasText: /^cancelled/ })
        .waitFor({ timeout: 60_000 });
    assert.equal(await panel.locator('button', { hasText: 'Cancel ablation' }).count(), 0);
    await status('skips-none').scrollIntoViewIfNeeded();
    await shot('31-panel-ablation-slurm-cancelled');
    const runDir = join(wb.workspace, 'runs', 'e2e-slurm', 'skips-all');
    assert.ok(existsSync(join(runDir, 'config.p2p.yaml')), 'the cancelled variant keeps its run folder');
  });
});
