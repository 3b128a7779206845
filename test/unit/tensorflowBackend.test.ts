// The pieces of the CUDA backend's setup that need no GPU: finding CUDA's libraries, finding a tfjs-node package in
// a folder, and saying why an npm install failed.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { explainNpmFailure, npmInstall } from '../../src/client/npmInstall';
import { describeMissing, findCudaLibraries } from '../../src/trainer/cudaLibraries';
import { describePackage, locateTensorflow } from '../../src/trainer/tensorflowPackage';
import { tempDir } from '../support/tempDir';

const LDCONFIG = `412 libs found in cache \`/etc/ld.so.cache'
\tlibcudnn.so.8 (libc6,x86-64) => /usr/lib/x86_64-linux-gnu/libcudnn.so.8
\tlibcudart.so.12 (libc6,x86-64) => /usr/local/cuda-12/lib64/libcudart.so.12
`;

describe('CUDA libraries', () => {
  it("finds cuDNN in the linker's cache and the CUDA 11 runtime in a folder, by TensorFlow's names", () => {
    const found = findCudaLibraries({
      platform: 'linux',
      linkerCache: LDCONFIG,
      folders: ['/opt/cuda-11.2/lib64', '/usr/local/cuda/lib64'],
      exists: (file) => file === '/usr/local/cuda/lib64/libcudart.so.11.0',
    });
    assert.deepEqual(
      found.map((l) => [l.name, l.path]),
      [
        ['libcudart.so.11.0', '/usr/local/cuda/lib64/libcudart.so.11.0'],
        ['libcudnn.so.8', '/usr/lib/x86_64-linux-gnu/libcudnn.so.8'],
      ],
    );
    assert.equal(describeMissing(found), '');
  });

  it('names what is missing: CUDA 12 is not the CUDA 11 runtime', () => {
    const found = findCudaLibraries({ platform: 'linux', linkerCache: LDCONFIG, folders: [], exists: () => false });
    assert.equal(describeMissing(found), 'libcudart.so.11.0 (the CUDA 11 runtime)');
    const windows = findCudaLibraries({
      platform: 'win32',
      linkerCache: '',
      folders: ['C:\\CUDA\\bin'],
      exists: () => false,
    });
    assert.equal(describeMissing(windows), 'cudart64_110.dll (the CUDA 11 runtime) and cudnn64_8.dll (cuDNN 8)');
  });
});

describe('a tfjs-node package in a folder', () => {
  it('is found in FOLDER/node_modules, with its version, before anything beside the trainer', () => {
    const folder = tempDir('p2p-tfjs-node-');
    const dir = join(folder, 'node_modules', '@tensorflow', 'tfjs-node');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: '@tensorflow/tfjs-node', version: '4.22.0' }));
    writeFileSync(join(dir, 'index.js'), 'module.exports = { loadedFrom: __dirname };');
    const found = locateTensorflow('@tensorflow/tfjs-node', folder);
    assert.ok(!('missing' in found));
    assert.equal(describePackage(found), `@tensorflow/tfjs-node 4.22.0 from ${dir} (p2p.tensorflow.path)`);
    assert.deepEqual(found.load(), { loadedFrom: dir });
  });

  it('says where it looked and how to install it when neither place has it', () => {
    const folder = tempDir('p2p-tfjs-node-');
    const trainer = createRequire(join(tempDir('p2p-trainer-'), 'trainer.js')); // a trainer with nothing beside it
    const gpu = locateTensorflow('@tensorflow/tfjs-node-gpu', folder, trainer);
    assert.deepEqual(gpu, {
      missing:
        `@tensorflow/tfjs-node-gpu is not installed in ${folder} (p2p.tensorflow.path) or beside the trainer; ` +
        `install it there: npm install --prefix ${folder} @tensorflow/tfjs-node-gpu`,
    });
    const unset = locateTensorflow('@tensorflow/tfjs-node-gpu', undefined, trainer);
    assert.match('missing' in unset ? unset.missing : '', /beside the trainer; run "pix2pix: Install CUDA Backend"/);
  });
});

describe('npm install failures', () => {
  it("blames TensorFlow's native download, not the registry, when the install script cannot fetch it", () => {
    const output = [
      'npm error command sh -c node scripts/install.js gpu download',
      'npm error * Downloading libtensorflow',
      'npm error Error: getaddrinfo ENOTFOUND example.invalid',
      'npm error A complete log of this run can be found in: /root/.npm/_logs/x.log',
    ].join('\n');
    assert.match(
      explainNpmFailure(output, 1),
      /^the download of TensorFlow's native library .* failed: Error: getaddrinfo ENOTFOUND/,
    );
  });

  it('tells a registry that cannot be reached from a package that does not exist', () => {
    assert.match(
      explainNpmFailure('npm error code ECONNREFUSED\nnpm error errno ECONNREFUSED', 1),
      /could not reach the registry/,
    );
    assert.equal(
      explainNpmFailure('npm error code E404\nnpm error 404 Not Found - GET @tensorflow/tfjs-node-gpx - Not found', 1),
      'npm install exited with code 1: 404 Not Found - GET @tensorflow/tfjs-node-gpx - Not found',
    );
  });

  it('says so when npm cannot be started', async () => {
    const folder = tempDir('p2p-npm-');
    const outcome = await npmInstall(folder, 'left-pad', () => {}, { npm: join(folder, 'no-such-npm') });
    assert.equal(outcome.ok, false);
    assert.match(outcome.failure ?? '', /^npm was not found on PATH: .*npm install --prefix /);
  });
});
