// The platform packages that `npm run package` builds (run it first): each carries its own platform's native
// code and no other, read from the binaries' headers; the host's package, unpacked, trains on wasm and webgpu.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { hostTarget, TARGETS, vsixPath, type Target } from '../../scripts/package';
import type { TrainerEvent } from '../../src/protocol/trainer';
import { installTfjsNode } from '../support/tfjsNode';
import { readZip } from '../support/zip';

const work = mkdtempSync(join(tmpdir(), 'p2p-vsix-'));
after(() => rmSync(work, { recursive: true, force: true }));

/** The os and cpus a native binary is built for, from its header (ELF, Mach-O, universal Mach-O, PE). */
function nativeTarget(b: Buffer): { os: string; cpus: string[] } {
  const machO: Record<number, string> = { 0x01000007: 'x64', 0x0100000c: 'arm64' };
  const elf: Record<number, string> = { 0x3e: 'x64', 0xb7: 'arm64' };
  const pe: Record<number, string> = { 0x8664: 'x64', 0xaa64: 'arm64' };
  if (b.readUInt32BE(0) === 0x7f454c46) return { os: 'linux', cpus: [elf[b.readUInt16LE(18)] ?? 'unknown'] };
  if (b.readUInt32LE(0) === 0xfeedfacf) return { os: 'darwin', cpus: [machO[b.readUInt32LE(4)] ?? 'unknown'] };
  if (b.readUInt32BE(0) === 0xcafebabe)
    return {
      os: 'darwin',
      cpus: Array.from({ length: b.readUInt32BE(4) }, (_, i) => machO[b.readUInt32BE(8 + 20 * i)] ?? 'unknown'),
    };
  if (b.toString('latin1', 0, 2) === 'MZ')
    return { os: 'win32', cpus: [pe[b.readUInt16LE(b.readUInt32LE(0x3c) + 4)] ?? 'unknown'] };
  return { os: 'unknown', cpus: [] };
}

const NATIVE = /\.(node|dll|dylib|so(\.\d+)*)$/;

function checkPackage(t: Target): string {
  const file = vsixPath(t);
  assert.ok(existsSync(file), `${file}: run npm run package first`);
  const entries = readZip(file);
  const names = entries.map((e) => e.name);
  const manifest = entries
    .find((e) => e.name === 'extension.vsixmanifest')!
    .data()
    .toString();
  assert.match(manifest, new RegExp(`TargetPlatform="${t.name}"`));
  // The Marketplace page's Changelog tab: vsce stores CHANGELOG.md as changelog.md and lists it as an asset.
  assert.match(
    manifest,
    /Type="Microsoft\.VisualStudio\.Services\.Content\.Changelog" Path="extension\/changelog\.md"/,
  );
  assert.ok(names.includes('extension/changelog.md'), `${t.name}: changelog.md`);
  for (const f of [
    'dist/extension.js',
    'dist/server.js',
    'dist/trainer.js',
    'dist/webview/main.js',
    'dist/wasm/tfjs-backend-wasm-simd.wasm',
  ])
    assert.ok(names.includes(`extension/${f}`), `${t.name}: ${f}`);
  assert.deepEqual(
    names.filter((n) => n.includes('node_modules/@tensorflow/')),
    [],
    'tfjs is inside the bundles',
  );
  const natives = entries.filter((e) => NATIVE.test(e.name));
  for (const e of natives) {
    const built = nativeTarget(e.data());
    assert.ok(
      built.os === t.os && built.cpus.includes(t.cpu),
      `${t.name}: ${e.name} is built for ${built.os} ${built.cpus.join('+')}`,
    );
  }
  assert.deepEqual(
    natives.filter((e) => e.name.endsWith('/dawn.node')).map((e) => e.name),
    [`extension/node_modules/webgpu/dist/${t.dawn}/dawn.node`],
  );
  assert.ok(
    natives.some((e) =>
      new RegExp(`node_modules/@img/sharp-${t.name}/lib/sharp-${t.name}-[\\d.]+\\.node$`).test(e.name),
    ),
    `${t.name}: sharp's binding`,
  );
  const mb = statSync(file).size / 2 ** 20;
  assert.ok(mb < 32, `${t.name}: ${mb.toFixed(1)} MB`);
  return `${t.name}: ${mb.toFixed(1)} MB, ${entries.length} files, native: ${natives.map((e) => e.name.replace('extension/node_modules/', '')).join(', ')}`;
}

/** Runs the unpacked extension's trainer on the tiny example for 2 steps; returns its events. */
function trainUnpacked(extension: string, backend: string): TrainerEvent[] {
  const args = [
    join(extension, 'dist', 'trainer.js'),
    '--config',
    join(extension, 'examples', 'tiny.p2p.yaml'),
    '--backend',
    backend,
    '--steps',
    '2',
    '--out',
    join(work, 'runs'),
    '--builtin-root',
    join(work, 'data'),
  ];
  const out = execFileSync(process.execPath, args, {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return out
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as TrainerEvent);
}

/** The unpacked host package, once. */
function unpackHost(): string {
  const extension = join(work, 'unpacked', 'extension');
  if (existsSync(extension)) return extension;
  for (const e of readZip(vsixPath(hostTarget()))) {
    const to = join(work, 'unpacked', e.name);
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, e.data());
  }
  return extension;
}

/** The unpacked trainer on `train.backend: tensorflow`: what it said of each tfjs-node package. */
function tensorflowAttempts(extension: string, env: NodeJS.ProcessEnv): string {
  const trainer = join(extension, 'dist', 'trainer.js');
  const config = join(extension, 'examples', 'tiny.p2p.yaml');
  const args = [trainer, '--config', config, '--backend', 'tensorflow', '--steps', '1', '--out', join(work, 'runs')];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.notEqual(r.status, 0, 'no libtensorflow here: the tensorflow backend cannot start');
  return r.stderr + r.stdout;
}

describe('platform packages', () => {
  for (const t of TARGETS) it(`${t.name} carries its own native code and no other`, () => console.log(checkPackage(t)));

  it('the host package, unpacked as VS Code installs it, trains on wasm and on webgpu', () => {
    const extension = unpackHost();
    for (const backend of ['wasm', 'webgpu']) {
      const events = trainUnpacked(extension, backend);
      const started = events.find((e): e is Extract<TrainerEvent, { type: 'started' }> => e.type === 'started')!;
      assert.equal(started.payload.backend, backend);
      assert.deepEqual(
        events.filter((e) => e.type === 'finished').map((e) => e.payload),
        [{ step: 2, reason: 'completed', runDir: started.payload.runDir }],
      );
    }
  });

  it('the host package loads @tensorflow/tfjs-node from the folder p2p.tensorflow.path names', () => {
    const extension = unpackHost();
    const folder = join(work, 'tensorflow');
    const { dir: installed, version } = installTfjsNode(folder);
    const said = tensorflowAttempts(extension, { P2P_TENSORFLOW_PATH: folder });
    assert.ok(
      said.includes(
        `tensorflow: @tensorflow/tfjs-node ${version} from ${installed} (p2p.tensorflow.path) failed to load: `,
      ),
      said,
    );
    assert.match(said, /The Node.js native addon module \(tfjs_binding.node\) can not be found/, 'its own code ran');
    assert.match(
      said,
      new RegExp(`tfjs-node-gpu is not installed in ${folder} \\(p2p.tensorflow.path\\) or beside the trainer`),
    );
    const unset = tensorflowAttempts(extension, { P2P_TENSORFLOW_PATH: '' });
    assert.match(
      unset,
      /tensorflow: @tensorflow\/tfjs-node is not installed beside the trainer; set p2p.tensorflow.path/,
    );
  });
});
