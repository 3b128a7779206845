// `npm install --prefix FOLDER SPEC` as a child process, line by line, and what its failure means to a user: the
// engine of "pix2pix: Install CUDA Backend" (tensorflowInstall.ts), kept apart from VS Code so it can be run alone.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface InstallOutcome {
  ok: boolean;
  /** npm's exit code; null when it could not start or was cancelled. */
  code: number | null;
  /** Why it failed, in a user's words. */
  failure?: string;
}

/** The folder's own package.json, so that npm installs there (and never into a project above it). */
function prepareFolder(folder: string): void {
  mkdirSync(folder, { recursive: true });
  const manifest = join(folder, 'package.json');
  if (!existsSync(manifest))
    writeFileSync(
      manifest,
      JSON.stringify({ name: 'p2p-tensorflow', private: true, description: 'tfjs-node for pix2pix Ablation Lab' }),
    );
}

/** Runs npm, reporting every output line; resolves when it exits (or cannot start, or `signal` aborts it). */
export function npmInstall(
  folder: string,
  spec: string,
  onLine: (line: string) => void,
  options: { npm?: string; env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {},
): Promise<InstallOutcome> {
  prepareFolder(folder);
  const npm = options.npm ?? (process.platform === 'win32' ? 'npm.cmd' : 'npm');
  const args = ['install', '--prefix', folder, '--no-audit', '--no-fund', '--loglevel', 'http', spec];
  const child = spawn(npm, args, { cwd: folder, env: options.env, shell: process.platform === 'win32' });
  let output = '';
  const read = (chunk: Buffer) => {
    const text = String(chunk);
    output += text;
    text.split(/\r?\n/).forEach((line) => line.trim() && onLine(line));
  };
  child.stdout.on('data', read);
  child.stderr.on('data', read);
  const abort = () => child.kill('SIGTERM');
  options.signal?.addEventListener('abort', abort);
  return new Promise((resolve) => {
    child.on('error', (e) => resolve({ ok: false, code: null, failure: startFailure(e, folder, spec) }));
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', abort);
      if (options.signal?.aborted) resolve({ ok: false, code: null, failure: 'cancelled' });
      else resolve(code === 0 ? { ok: true, code } : { ok: false, code, failure: explainNpmFailure(output, code) });
    });
  });
}

function startFailure(e: NodeJS.ErrnoException, folder: string, spec: string): string {
  const yourself = `install it yourself with \`npm install --prefix ${folder} ${spec}\``;
  return e.code === 'ENOENT'
    ? `npm was not found on PATH: install Node.js (with npm), or ${yourself}`
    : `npm could not start (${e.message}); ${yourself}`;
}

const NETWORK = /\b(ENOTFOUND|ETIMEDOUT|ECONNREFUSED|ECONNRESET|EAI_AGAIN|ENETUNREACH|EHOSTUNREACH)\b/;

/** The one line of npm's output that says what went wrong, and what it means. */
export function explainNpmFailure(output: string, code: number | null): string {
  const lines = output.split(/\r?\n/).map((l) => l.replace(/^npm (error|ERR!)\s*/, '').trim());
  const network = lines.find((l) => NETWORK.test(l));
  if (network && /libtensorflow/i.test(output))
    return (
      `the download of TensorFlow's native library (libtensorflow, about 400 MB, fetched by the package's install ` +
      `script from outside the npm registry) failed: ${network}`
    );
  if (network) return `npm could not reach the registry: ${network}`;
  const said = lines.filter((l) => /error/i.test(l) && !/^A complete log/.test(l)).pop() ?? lines.filter(Boolean).pop();
  return `npm install exited with code ${code}${said ? `: ${said}` : ''}`;
}
