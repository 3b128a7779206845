// One bundle per process. `--production` minifies for packaging; `--watch` rebuilds on change.
const { copyFileSync, mkdirSync, readdirSync } = require('node:fs');
const { dirname, join } = require('node:path');
const esbuild = require('esbuild');

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

/** @type {import('esbuild').BuildOptions} */
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // Native packages load at run time from node_modules (the .vsix carries its platform's); tfjs and everything
  // else is inside the bundles. `vscode` is the host's.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu', 'sharp'],
  // backends.ts resolves the wasm package only where the bundle's own dist/wasm is missing (tests from source).
  logOverride: { 'require-resolve-not-external': 'silent' },
};

const bundles = [
  { entryPoints: ['src/client/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/server/server.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js' },
  { entryPoints: ['src/trainer/main.ts'], outfile: 'dist/trainer.js' },
  // The GPU benchmark travels to machines without npm: Node, Dawn and this bundle.
  { entryPoints: ['bench/gpu.ts'], outfile: 'dist/bench-gpu.js' },
];

// The runs panel runs in the browser: one IIFE and its stylesheet.
const webview = {
  bundle: true,
  platform: 'browser',
  target: 'es2022',
  format: 'iife',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
};
const webviewBundles = [
  { ...webview, entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js' },
  { ...webview, entryPoints: ['webview/main.css'], outfile: 'dist/webview/main.css' },
];

/** The wasm backend's binaries beside the bundles (dist/wasm/), where src/trainer/backends.ts looks first. */
function copyWasmBinaries() {
  const from = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  mkdirSync('dist/wasm', { recursive: true });
  for (const f of readdirSync(from).filter((n) => n.endsWith('.wasm')))
    copyFileSync(join(from, f), join('dist/wasm', f));
}

async function main() {
  const contexts = await Promise.all([
    ...bundles.map((b) => esbuild.context({ ...common, ...b })),
    ...webviewBundles.map((b) => esbuild.context(b)),
  ]);
  copyWasmBinaries();
  if (watch) {
    await Promise.all(contexts.map((c) => c.watch()));
    return;
  }
  await Promise.all(contexts.map((c) => c.rebuild()));
  await Promise.all(contexts.map((c) => c.dispose()));
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
