// `npm run package`: one .vsix per platform, each carrying only its platform's native code (Dawn's dawn.node
// from the `webgpu` package, which holds every platform's; sharp's @img packages, which npm installs for the
// build machine alone). Everything else is inside the bundles of dist/ (built with --production first).
//   node --import tsx scripts/package.ts [--target linux-x64 | --host]   -> out/p2p-ablation-lab-<target>.vsix
// Each target is staged in out/stage/<target>: the extension's files, a package.json whose dependencies are
// the native packages alone, and their node_modules installed by npm for that os/cpu (--os, --cpu, --libc).

import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Target {
  /** vsce's target name. */
  name: string;
  os: 'linux' | 'darwin' | 'win32';
  cpu: 'x64' | 'arm64';
  /** The folder of node_modules/webgpu/dist that holds this platform's dawn.node. */
  dawn: string;
}

export const TARGETS: Target[] = [
  { name: 'linux-x64', os: 'linux', cpu: 'x64', dawn: 'linux-x64' },
  { name: 'linux-arm64', os: 'linux', cpu: 'arm64', dawn: 'linux-arm64' },
  { name: 'darwin-arm64', os: 'darwin', cpu: 'arm64', dawn: 'darwin-universal' },
  { name: 'darwin-x64', os: 'darwin', cpu: 'x64', dawn: 'darwin-universal' },
  { name: 'win32-x64', os: 'win32', cpu: 'x64', dawn: 'win32-x64' },
];

/** Packages with native code that the bundles leave outside (esbuild.js's `external`). */
const NATIVE = ['sharp', 'webgpu'];
const root = join(__dirname, '..');
export const vsixPath = (t: Target) => join(root, 'out', `p2p-ablation-lab-${t.name}.vsix`);

/** The target of the machine this runs on. */
export function hostTarget(): Target {
  const t = TARGETS.find((x) => x.os === process.platform && x.cpu === process.arch);
  if (!t)
    throw new Error(
      `no package target for ${process.platform}-${process.arch}; targets: ${TARGETS.map((x) => x.name).join(', ')}`,
    );
  return t;
}

function run(cmd: string, args: string[], cwd: string): void {
  execFileSync(cmd, args, { cwd, stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env } });
}

/** The extension's manifest for a staged package: no build scripts (dist/ is built), native dependencies only. */
function stagedManifest(): string {
  const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  delete manifest.scripts;
  delete manifest.devDependencies;
  manifest.dependencies = Object.fromEntries(NATIVE.map((p) => [p, lock.packages[`node_modules/${p}`].version]));
  return JSON.stringify(manifest, null, 2);
}

function stage(t: Target): string {
  const dir = join(root, 'out', 'stage', t.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  // docs/screenshots: the README's images, shown from inside the package by VS Code's extension page.
  for (const item of [
    'dist',
    'media',
    'schemas',
    'examples',
    'docs',
    'README.md',
    'CHANGELOG.md',
    'LICENSE',
    '.vscodeignore',
  ])
    cpSync(join(root, item), join(dir, item), { recursive: true });
  writeFileSync(join(dir, 'package.json'), stagedManifest());
  cpSync(join(root, 'package-lock.json'), join(dir, 'package-lock.json'));
  run(
    'npm',
    [
      'install',
      '--omit=dev',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      `--os=${t.os}`,
      `--cpu=${t.cpu}`,
      ...(t.os === 'linux' ? ['--libc=glibc'] : []),
    ],
    dir,
  );
  const dawn = join(dir, 'node_modules', 'webgpu', 'dist');
  for (const d of readdirSync(dawn)) if (d !== t.dawn) rmSync(join(dawn, d), { recursive: true, force: true });
  return dir;
}

export function packageTarget(t: Target): string {
  const dir = stage(t);
  const vsce = join(root, 'node_modules', '.bin', 'vsce');
  const links = '--no-rewrite-relative-links'; // relative images resolve inside the package (no public repository)
  run(
    vsce,
    ['package', '--target', t.name, '--allow-missing-repository', links, '--skip-license', '-o', vsixPath(t)],
    dir,
  );
  return vsixPath(t);
}

if (require.main === module) {
  const wanted = process.argv.includes('--host')
    ? hostTarget().name
    : process.argv.includes('--target')
      ? process.argv[process.argv.indexOf('--target') + 1]
      : undefined;
  const targets = TARGETS.filter((t) => !wanted || t.name === wanted);
  if (!targets.length) {
    console.error(`unknown target ${wanted}; expected one of ${TARGETS.map((t) => t.name).join(', ')}`);
    process.exit(2);
  }
  for (const t of targets) console.log(`${t.name}: ${packageTarget(t)}`);
}
