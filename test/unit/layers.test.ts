// The layers of the code (README, "Layout"): an import goes to its own folder or to a lower layer, never up and
// never sideways, so each layer can be read and tested without those above it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';

const root = join(__dirname, '..', '..');

/** Lower numbers are lower layers. The contracts between processes (LSP, trainer, panel) are types under all of them. */
const LAYERS: [prefix: string, layer: string, rank: number][] = [
  ['src/core/', 'core', 0],
  ['src/protocol/', 'protocol', 1],
  ['src/runFolders/', 'runs', 2],
  ['src/data/', 'data', 2],
  ['src/model/', 'model', 2],
  ['src/trainer/', 'trainer', 3],
  ['src/host/', 'host', 3],
  ['src/sweep/', 'sweep', 4],
  ['src/cli/', 'cli', 5],
  ['src/server/', 'server', 5],
  ['src/client/', 'client', 5],
  ['webview/', 'webview', 5],
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

/** The first cycle in a directed graph as its nodes in order, back to where it started, or undefined. */
function firstCycle(edges: Record<string, string[]>): string[] | undefined {
  const done = new Set<string>();
  const walk = (node: string, path: string[]): string[] | undefined => {
    const at = path.indexOf(node);
    if (at >= 0) return [...path.slice(at), node];
    if (done.has(node)) return undefined;
    for (const next of edges[node] ?? []) {
      const cycle = walk(next, [...path, node]);
      if (cycle) return cycle;
    }
    done.add(node);
    return undefined;
  };
  for (const node of Object.keys(edges)) {
    const cycle = walk(node, []);
    if (cycle) return cycle;
  }
  return undefined;
}

/** Imports between folders: one edge per pair of distinct folders that a file import joins. */
function folderImports(imports: Record<string, string[]>): Record<string, string[]> {
  const edges: Record<string, Set<string>> = {};
  for (const [file, targets] of Object.entries(imports)) {
    for (const target of targets) {
      if (dirname(target) !== dirname(file)) (edges[dirname(file)] ??= new Set()).add(dirname(target));
    }
  }
  return Object.fromEntries(Object.entries(edges).map(([k, v]) => [k, [...v]]));
}

const allImports = () => Object.fromEntries([...sources('src'), ...sources('webview')].map((f) => [f, importsOf(f)]));

describe('layers', () => {
  it('every import goes to its own layer or a lower one', () => {
    assert.deepEqual(layerViolations(allImports()), []);
  });

  it('no file imports itself through others, and no folder does', () => {
    const imports = allImports();
    assert.equal(firstCycle(imports)?.join(' -> '), undefined);
    assert.equal(firstCycle(folderImports(imports))?.join(' -> '), undefined);
  });

  it('finds a file cycle and the folder cycle it makes', () => {
    const imports = { 'a/x.ts': ['b/y.ts'], 'b/y.ts': ['b/z.ts'], 'b/z.ts': ['a/x.ts'], 'c/w.ts': ['a/x.ts'] };
    assert.deepEqual(firstCycle(imports), ['a/x.ts', 'b/y.ts', 'b/z.ts', 'a/x.ts']);
    assert.deepEqual(firstCycle(folderImports(imports)), ['a', 'b', 'a']);
    assert.equal(firstCycle({ 'a/x.ts': ['b/y.ts'], 'c/w.ts': ['a/x.ts'] }), undefined);
  });

  it('names an import up a layer and one sideways, and allows one down', () => {
    const imports = {
      'src/runFolders/runState.ts': ['src/host/trainerProcess.ts', 'src/core/config.ts'],
      'src/client/training.ts': ['src/server/server.ts', 'src/sweep/runner.ts', 'src/protocol/panel.ts'],
    };
    assert.deepEqual(layerViolations(imports), [
      'src/runFolders/runState.ts (runs) -> src/host/trainerProcess.ts (host)',
      'src/client/training.ts (client) -> src/server/server.ts (server)',
    ]);
  });
});
