// End to end, TensorFlow's CUDA backend from an installed extension (code-server + Chromium): "pix2pix: Install
// CUDA Backend" on a machine without CUDA (it asks first; npm's install of @tensorflow/tfjs-node-gpu then fails at
// the package's own download of TensorFlow's native library, which this machine cannot reach, and it says so), and
// a training on `backend: tensorflow` with `p2p.tensorflow.path` naming a folder where the real @tensorflow/tfjs-node
// is installed: the trainer loads it from that folder, and the failure names the package and the folder.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openFile, root, runCommand, startWorkbench, type Workbench } from './codeServer';
import { installTfjsNode } from '../support/tfjsNode';
import { hostTarget, vsixPath } from '../../scripts/package';

const shots = join(root, 'test-output', 'e2e');
const config = readFileSync(join(root, 'examples/tiny.p2p.yaml'), 'utf8')
  .replace('name: tiny', 'name: on-tensorflow')
  .replace('seed: 1', 'seed: 1\n  backend: tensorflow');
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

describe('the CUDA backend from the editor (code-server)', () => {
  let wb: Workbench;
  const folder = mkdtempSync(join(tmpdir(), 'p2p-tensorflow-'));
  let tfjsNode: { dir: string; version: string };
  const toast = (text: RegExp) => wb.page.locator('.notifications-toasts .notification-toast', { hasText: text });

  before(async () => {
    mkdirSync(shots, { recursive: true });
    tfjsNode = installTfjsNode(folder);
    wb = await startWorkbench(vsixPath(hostTarget()), { 'tf.p2p.yaml': config }, { 'p2p.tensorflow.path': folder });
  });

  after(async () => {
    if (process.env.E2E_LOG) console.log(wb?.log());
    await wb?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('Install CUDA Backend asks first without CUDA, then names the failed native download', async () => {
    const { page } = wb;
    await openFile(page, 'tf.p2p.yaml');
    await runCommand(page, 'pix2pix: Install CUDA Backend');
    const dialog = page.locator('.monaco-dialog-box', { hasText: 'libcudart.so.11.0 (the CUDA 11 runtime)' });
    await dialog.waitFor({ timeout: 30_000 });
    assert.match(await dialog.innerText(), /needs CUDA 11\.2 and cuDNN 8\.1/);
    await page.screenshot({ path: join(shots, '50-install-cuda-ask.png') });
    await dialog.locator('.monaco-button', { hasText: 'Install Anyway' }).click();
    const failed = toast(/installing @tensorflow\/tfjs-node-gpu failed: the download of TensorFlow's native library/);
    await failed.waitFor({ timeout: 240_000 });
    assert.match(await failed.innerText(), /failed: .*(ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT)/);
    await page.screenshot({ path: join(shots, '51-install-cuda-failed.png') });
  });

  it('trains on backend: tensorflow with the package from p2p.tensorflow.path, and says where it came from', async () => {
    const { page } = wb;
    await page.keyboard.press('Escape'); // the install's notification
    await runCommand(page, 'pix2pix: Train Current Config');
    const from = `@tensorflow/tfjs-node ${tfjsNode.version} from ${tfjsNode.dir} (p2p.tensorflow.path) failed to load`;
    const failed = toast(new RegExp(`pix2pix training failed: no usable backend .*${escape(from)}`));
    await failed.waitFor({ timeout: 120_000 }).catch(async (e) => {
      await page.screenshot({ path: join(shots, '52-tensorflow-from-setting-failed.png') });
      throw e;
    });
    assert.match(await failed.innerText(), /tfjs_binding\.node/);
    await toast(/pix2pix: training tf\.p2p\.yaml/).waitFor({ state: 'hidden', timeout: 15_000 }); // nothing left running
    await page.screenshot({ path: join(shots, '52-tensorflow-from-setting.png') });
  });
});
