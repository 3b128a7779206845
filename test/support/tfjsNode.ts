// The real @tensorflow/tfjs-node from the registry, installed into a folder as `npm install --prefix` does, but
// without its install script: that downloads TensorFlow's native library from outside the registry, which these
// machines cannot reach. Its JavaScript loads; it stops where it opens the missing native binding.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function installTfjsNode(folder: string): { dir: string; version: string } {
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'package.json'), '{"private": true}');
  const args = [
    'install',
    '--prefix',
    folder,
    '--ignore-scripts',
    '--no-audit',
    '--no-fund',
    '@tensorflow/tfjs-node@4',
  ];
  execFileSync('npm', args, { stdio: 'ignore' });
  const dir = join(folder, 'node_modules', '@tensorflow', 'tfjs-node');
  const { version } = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string };
  return { dir, version };
}
