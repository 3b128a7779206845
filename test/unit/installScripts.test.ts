// `npm ci` on a fresh clone must work offline but for the npm registry, with no environment variable: every
// dependency that runs an install script is listed here with what its script does, so a new one (such as a
// package that downloads a binary from elsewhere at install time) fails this test before it fails a user's install.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '..', '..');

/** Reviewed install scripts: none downloads anything. */
const REVIEWED: Record<string, string> = {
  '@vscode/vsce-sign': 'picks the platform package it ships as an optional dependency (dev only)',
  'core-js': 'prints a funding banner',
  esbuild: 'checks that the platform package npm installed works (dev only)',
  keytar: 'prebuild-install, optional (dev only, vsce); its failure does not fail the install',
  protobufjs: 'warns about an outdated protobufjs CLI (dev only)',
  webgpu: 'removes the quarantine attribute from dawn.node on macOS',
};

function installScriptPackages(): string[] {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { hasInstallScript?: boolean }>;
  };
  return Object.entries(lock.packages)
    .filter(([, entry]) => entry.hasInstallScript)
    .map(([path]) => path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length));
}

describe('install scripts', () => {
  it('runs only reviewed install scripts in npm ci', () => {
    const found = installScriptPackages();
    assert.ok(found.includes('esbuild'), 'the lockfile records install scripts');
    const unreviewed = found.filter((name) => !(name in REVIEWED));
    assert.deepEqual(unreviewed, [], 'review what their install scripts fetch, then list them in REVIEWED');
  });
});
