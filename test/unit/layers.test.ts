// The layers of the code (README, "Layout"): an import goes to its own folder or to a lower layer, never up and
// never sideways, so each layer can be read and tested without those above it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '..', '..');

/** Lower numbers are lower layers. The webview's message contract is shared by the host and the page. */
const LAYERS: [prefix: string, layer: string, rank: number][] = [
  ['src/core/', 'core', 0],
  ['src/runFolders/', 'runs', 1],
  ['src/data/', 'data', 1],
  ['src/model/', 'model', 1],
  ['src/trainer/', 'trainer', 2],
  ['src/protocol/', 'protocol', 2],
  ['webview/contract.ts', 'protocol', 2],
  ['src/sweep/', 'sweep', 3],
  ['src/cli/', 'cli', 4],
  ['src/server/', 'server', 4],
  ['src/client/', 'client', 4],
  ['webview/', 'webview', 4],
];

function layerOf(file: string): { layer: string; rank: number } {
  const hit = LAYERS.find(([prefix]) => file === prefix || file.startsWith(prefix));
  assert.ok(hit, `${file} belongs to no layer: add its folder to LAYERS and to the README's drawing`);
  return { layer: hit[1], rank: hit[2] };
}

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** Relative imports of a file (static, dynamic and type-only), as repository paths with `.ts`. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  const specs = [...text.matchAll(/(?:from|import\(|require\()\s*'(\.[^']+)'/g)].map((m) => m[1]);
  return specs.map((s) => relative(root, resolve(root, dirname(file), s)) + '.ts');
}

/** Every import that goes up a layer or sideways into a peer, as `FILE (layer) -> FILE (layer)`. */
function layerViolations(imports: Record<string, string[]>): string[] {
  return Object.entries(imports).flatMap(([file, targets]) => {
    const from = layerOf(file);
    return targets
      .filter((target) => {
        const to = layerOf(target);
        return to.layer !== from.layer && to.rank >= from.rank;
      })
      .map((target) => `${file} (${from.layer}) -> ${target} (${layerOf(target).layer})`);
  });
}

describe('layers', () => {
  it('every import goes to its own layer or a lower one', () => {
    const files = [...sources('src'), ...sources('webview')];
    assert.deepEqual(layerViolations(Object.fromEntries(files.map((f) => [f, importsOf(f)]))), []);
  });

  it('names an import up a layer and one sideways, and allows one down', () => {
    const imports = {
      'src/runFolders/runState.ts': ['src/trainer/process.ts', 'src/core/config.ts'],
      'src/client/training.ts': ['src/server/server.ts', 'src/sweep/runner.ts', 'webview/contract.ts'],
    };
    assert.deepEqual(layerViolations(imports), [
      'src/runFolders/runState.ts (runs) -> src/trainer/process.ts (trainer)',
      'src/client/training.ts (client) -> src/server/server.ts (server)',
    ]);
  });
});
