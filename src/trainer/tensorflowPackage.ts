// Where the trainer finds @tensorflow/tfjs-node-gpu (CUDA) or @tensorflow/tfjs-node (native CPU): optional
// packages with native code that no extension package carries. A host names a folder where one is installed
// (`p2p.tensorflow.path`, which "pix2pix: Install CUDA Backend" fills) in the trainer's environment; the trainer
// looks there first, then beside itself (a development checkout with the package in its node_modules).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Tf } from '../model/tf';

export type TensorflowPackageName = '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node';

/** The variable by which a host passes `p2p.tensorflow.path` to the trainer (and to the sweep tasks it starts). */
export const TENSORFLOW_PATH_VARIABLE = 'P2P_TENSORFLOW_PATH';

export interface LocatedPackage {
  name: TensorflowPackageName;
  version: string;
  /** The package's own folder. */
  dir: string;
  /** How it was found: "p2p.tensorflow.path" or "beside the trainer". */
  via: string;
  load: () => Tf;
}

/** "@tensorflow/tfjs-node-gpu 4.22.0 from /home/me/.../node_modules/@tensorflow/tfjs-node-gpu (p2p.tensorflow.path)". */
export function describePackage(p: Pick<LocatedPackage, 'name' | 'version' | 'dir' | 'via'>): string {
  return `${p.name} ${p.version} from ${p.dir} (${p.via})`;
}

function locateWith(req: NodeJS.Require, name: TensorflowPackageName, via: string): LocatedPackage | undefined {
  let manifest: string;
  try {
    manifest = req.resolve(`${name}/package.json`);
  } catch {
    return undefined;
  }
  const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
  return { name, version, dir: dirname(manifest), via, load: () => req(name) as Tf };
}

/**
 * The package in `folder` (an npm prefix: `folder/node_modules/<name>`, or any folder below which Node would find
 * it), else beside the trainer; or why neither has it.
 */
export function locateTensorflow(
  name: TensorflowPackageName,
  folder: string | undefined,
  besideTrainer: NodeJS.Require = require,
): LocatedPackage | { missing: string } {
  const inFolder = folder
    ? locateWith(createRequire(join(folder, 'package.json')), name, 'p2p.tensorflow.path')
    : undefined;
  const found = inFolder ?? locateWith(besideTrainer, name, 'beside the trainer');
  if (found) return found;
  const where = folder ? `in ${folder} (p2p.tensorflow.path) or beside the trainer` : 'beside the trainer';
  const how = folder
    ? `install it there: npm install --prefix ${folder} ${name}`
    : name === '@tensorflow/tfjs-node-gpu'
      ? 'run "pix2pix: Install CUDA Backend", or set p2p.tensorflow.path to a folder where it is installed'
      : 'set p2p.tensorflow.path to a folder where it is installed';
  return { missing: `${name} is not installed ${where}; ${how}` };
}
