import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { tempDir } from '../support/tempDir';

// These run the real `p2p` bin over the esbuild bundle (`npm test` builds it first).
const root = join(__dirname, '..', '..');
const golden = readFileSync(join(root, 'test/fixtures/seed_generator_unet_upsampling.keras.txt'), 'utf8');

function p2p(...args: string[]) {
  const r = spawnSync(process.execPath, [join(root, 'bin/p2p.js'), ...args], { cwd: root, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function tempConfig(text: string): string {
  const file = join(tempDir('p2p-cli-'), 'bad.p2p.yaml');
  writeFileSync(file, text);
  return file;
}

describe('p2p CLI', () => {
  it('prints the seed summary identical to the golden Keras summary', () => {
    const r = p2p('summary', 'examples/seed.p2p.yaml');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, golden);
  });

  it('prints the graph as JSON and the discriminator on request', () => {
    const r = p2p('summary', 'examples/seed.p2p.yaml', '--format', 'json', '--part', 'discriminator');
    assert.equal(r.status, 0, r.stderr);
    const graph = JSON.parse(r.stdout);
    assert.equal(graph.part, 'discriminator');
    assert.equal(graph.totals.params, 857_492);
    assert.equal(graph.layers.at(-1).name, 'disc_output');
    const keras = p2p('summary', 'examples/seed.p2p.yaml', '--part=discriminator');
    assert.match(keras.stdout, /^disc_output \(Dense\) {14}\(None, 2\) {13}18 {10}flatten_1\[0\]\[0\]$/m);
  });

  it('checks files and prints FILE:LINE:COL diagnostics, exiting 1 on errors', () => {
    const file = tempConfig('input:\n  size: 100\ngenerator:\n  skips: [1, 9]\n');
    const r = p2p('check', file);
    assert.equal(r.status, 1);
    const lines = r.stdout.trim().split('\n');
    assert.equal(
      lines[0],
      `${file}:2:9: error: \`input.size\`: expected a power of two (every encoder level halves the image), found 100; the nearest are 64 and 128`,
    );
    assert.equal(
      lines[1],
      `${file}:4:14: error: \`generator.skips\`: level 9 does not exist; this generator has decoder levels 1..5`,
    );
    assert.equal(lines[2], `${file}: 2 errors, 0 warnings`);
  });

  it('exits 0 on warnings only and on clean files', () => {
    const file = tempConfig('generator:\n  skips: none\n  decoder: [{ level: 2, skip: true }]\n');
    const r = p2p('check', file, 'examples/tiny.p2p.yaml');
    assert.equal(r.status, 0, r.stdout);
    assert.match(r.stdout, /:3:25: warning: .*overrides `generator.skips`/);
    assert.match(r.stdout, /examples\/tiny\.p2p\.yaml: ok/);
  });

  it('refuses a summary of a config with errors', () => {
    const r = p2p('summary', tempConfig('generator: { levels: 1 }\n'));
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /1:22: error: `generator.levels`: expected an integer from 2 to 16, found 1\n.*has 1 error; no summary/,
    );
  });

  it('gives a one-line error for missing or unreadable files and bad usage', () => {
    const missing = p2p('summary', 'nope.p2p.yaml');
    assert.equal(missing.status, 2);
    assert.equal(missing.stderr, 'p2p: cannot read nope.p2p.yaml: no such file\n');
    const dir = p2p('check', 'examples');
    assert.equal(dir.status, 2);
    assert.equal(dir.stderr, 'p2p: cannot read examples: is a directory\n');
    const bad = p2p('summary', 'examples/seed.p2p.yaml', '--format', 'xml');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /--format: expected keras\|json, found xml/);
    assert.equal(p2p('frobnicate').status, 2);
  });
});
