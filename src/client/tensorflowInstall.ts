// "pix2pix: Install CUDA Backend": @tensorflow/tfjs-node-gpu (the version of the tfjs the trainer bundles) into the
// extension's global storage, with npm's output in the pix2pix channel, then `p2p.tensorflow.path` set to that
// folder so that every trainer started from the editor finds it (src/trainer/tensorflowPackage.ts).

import * as path from 'node:path';
import * as vscode from 'vscode';
import { version as TFJS_VERSION } from '@tensorflow/tfjs/package.json';
import { missingOnThisMachine } from '../trainer/cudaLibraries';
import { npmInstall } from './npmInstall';

const PACKAGE = '@tensorflow/tfjs-node-gpu';
/** The platforms tfjs-node-gpu has prebuilt TensorFlow libraries for. */
const SUPPORTED = ['linux-x64', 'win32-x64'];

/** Asks before installing on a machine where TensorFlow would find no GPU; true to go on. */
async function confirmWithoutCuda(): Promise<boolean> {
  const missing = missingOnThisMachine();
  if (!missing) return true;
  const pick = await vscode.window.showWarningMessage(
    `pix2pix: this machine has no ${missing}. @tensorflow/tfjs-node-gpu ${TFJS_VERSION} needs CUDA 11.2 and ` +
      'cuDNN 8.1; without them TensorFlow finds no GPU and trainings fall back to the next backend.',
    { modal: true, detail: 'Install CUDA 11.2 and cuDNN 8.1 first, or install anyway to add them later.' },
    'Install Anyway',
  );
  return pick === 'Install Anyway';
}

export async function installCudaBackend(storage: vscode.Uri, output: vscode.LogOutputChannel): Promise<boolean> {
  const platform = `${process.platform}-${process.arch}`;
  if (!SUPPORTED.includes(platform)) {
    void vscode.window.showErrorMessage(
      `pix2pix: ${PACKAGE} has builds for Linux and Windows on x64 only, not ${platform}. ` +
        'WebGPU (train.backend: auto or webgpu) is the GPU path here.',
    );
    return false;
  }
  if (!(await confirmWithoutCuda())) return false;
  const folder = path.join(storage.fsPath, 'tensorflow');
  const spec = `${PACKAGE}@${TFJS_VERSION}`;
  output.info(`Install CUDA Backend: npm install --prefix ${folder} ${spec}`);
  const outcome = await vscode.window.withProgress(
    { location: vscode.ProgressLocation.Notification, title: `pix2pix: installing ${spec}`, cancellable: true },
    (progress, token) => {
      const aborter = new AbortController();
      token.onCancellationRequested(() => aborter.abort());
      return npmInstall(
        folder,
        spec,
        (line) => {
          output.info(`npm: ${line}`);
          progress.report({ message: line.length > 80 ? `${line.slice(0, 79)}…` : line });
        },
        { signal: aborter.signal },
      );
    },
  );
  if (!outcome.ok) {
    output.error(`Install CUDA Backend failed: ${outcome.failure}`);
    if (outcome.failure !== 'cancelled')
      void vscode.window
        .showErrorMessage(`pix2pix: installing ${PACKAGE} failed: ${outcome.failure}`, 'Show Output')
        .then((pick) => pick && output.show());
    return false;
  }
  await vscode.workspace.getConfiguration('p2p').update('tensorflow.path', folder, vscode.ConfigurationTarget.Global);
  output.info(`Install CUDA Backend: ${spec} installed in ${folder}; p2p.tensorflow.path set`);
  void vscode.window.showInformationMessage(
    `pix2pix: ${spec} is installed in ${folder} (p2p.tensorflow.path). Trainings on backend auto or tensorflow use it.`,
  );
  return true;
}
