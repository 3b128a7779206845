// One bundle per process. `--production` minifies for packaging; `--watch` rebuilds on change.
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
  // Native and optional packages load at run time; `vscode` is the host's.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', 'webgpu'],
};

const bundles = [
  { entryPoints: ['src/client/extension.ts'], outfile: 'dist/extension.js' },
  { entryPoints: ['src/server/server.ts'], outfile: 'dist/server.js' },
  { entryPoints: ['src/cli/index.ts'], outfile: 'dist/cli.js' },
  // The trainer loads tfjs backends, wasm binaries and sharp (native) from node_modules at run time.
  { entryPoints: ['src/trainer/main.ts'], outfile: 'dist/trainer.js', packages: 'external' },
];

// The runs panel runs in the browser: one IIFE and its stylesheet.
const webview = { bundle: true, platform: 'browser', target: 'es2022', format: 'iife', sourcemap: !production, minify: production, logLevel: 'warning' };
const webviewBundles = [
  { ...webview, entryPoints: ['webview/main.ts'], outfile: 'dist/webview/main.js' },
  { ...webview, entryPoints: ['webview/main.css'], outfile: 'dist/webview/main.css' },
];

async function main() {
  const contexts = await Promise.all([...bundles.map((b) => esbuild.context({ ...common, ...b })), ...webviewBundles.map((b) => esbuild.context(b))]);
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
