// The extension's settings (`p2p.*` in package.json), read where they apply, so a change takes effect at the next
// training or refresh without a reload. Scopes: the runs folder and backend may differ per workspace folder.

import { homedir } from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Backend } from '../core/config';
import { TENSORFLOW_PATH_VARIABLE } from '../trainer/tensorflowPackage';

export interface Settings {
  /** `p2p.runs.folder`: relative to the workspace folder (or the config's folder), or absolute; `~` is home. */
  runsFolder: string;
  /** `p2p.train.backend`: overrides the config's `train.backend`; undefined keeps the config's. */
  backend: Backend | undefined;
  /** `p2p.panel.openOnTrain`: whether the runs panel opens when a training or ablation starts. */
  openPanelOnTrain: boolean;
  /** `p2p.slurm.pollSeconds`: how often squeue is read while a SLURM sweep has tasks queued or running. */
  slurmPollSeconds: number;
  /** `p2p.tensorflow.path`: a folder where @tensorflow/tfjs-node-gpu or @tensorflow/tfjs-node is installed. */
  tensorflowPath: string | undefined;
}

const BACKENDS: readonly Backend[] = ['auto', 'tensorflow', 'webgpu', 'webgpu-tfjs', 'wasm', 'cpu'];

export function readSettings(scope?: vscode.Uri): Settings {
  const c = vscode.workspace.getConfiguration('p2p', scope);
  const backend = c.get<string>('train.backend', 'config');
  return {
    runsFolder: c.get<string>('runs.folder', 'runs').trim() || 'runs',
    backend: BACKENDS.includes(backend as Backend) ? (backend as Backend) : undefined,
    openPanelOnTrain: c.get<boolean>('panel.openOnTrain', true),
    slurmPollSeconds: Math.max(2, c.get<number>('slurm.pollSeconds', 15)),
    tensorflowPath: expandHome(c.get<string>('tensorflow.path', '').trim()) || undefined,
  };
}

/** The environment of a trainer started from the editor: the host's, with `p2p.tensorflow.path` for it to read. */
/** The bundled trainer (dist/trainer.js) of the extension installed at `extensionPath`. */
export const trainerPathOf = (extensionPath: string): string => path.join(extensionPath, 'dist', 'trainer.js');

export function trainerEnv(): NodeJS.ProcessEnv {
  const folder = readSettings().tensorflowPath;
  return { ...process.env, ...(folder ? { [TENSORFLOW_PATH_VARIABLE]: folder } : {}) };
}

function expandHome(folder: string): string {
  return folder === '~' || folder.startsWith('~/') ? path.join(homedir(), folder.slice(1)) : folder;
}

/** The runs folder for a config (or the first workspace folder): the setting, resolved against the folder. */
export function runsRootFor(config: vscode.Uri | undefined): string {
  const ws = config ? vscode.workspace.getWorkspaceFolder(config) : vscode.workspace.workspaceFolders?.[0];
  const base = ws?.uri.fsPath ?? (config ? path.dirname(config.fsPath) : process.cwd());
  return path.resolve(base, expandHome(readSettings(config ?? ws?.uri).runsFolder));
}
