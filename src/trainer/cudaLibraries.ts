// Whether this machine has the CUDA runtime and cuDNN that @tensorflow/tfjs-node-gpu 4.x is built against (CUDA
// 11.2, cuDNN 8.1): their shared libraries by the names TensorFlow opens, in the dynamic linker's cache or in
// the folders the linker (or, on Windows, the DLL loader) searches. TensorFlow itself finds no GPU without them
// and trains on the CPU, so this is asked before a 400 MB install and when a run finds no GPU.

import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export interface CudaLibrary {
  name: string;
  what: string;
  /** Where it was found; undefined when it was not. */
  path?: string;
}

const NEEDED: Record<string, { name: string; what: string }[]> = {
  linux: [
    { name: 'libcudart.so.11.0', what: 'the CUDA 11 runtime' },
    { name: 'libcudnn.so.8', what: 'cuDNN 8' },
  ],
  win32: [
    { name: 'cudart64_110.dll', what: 'the CUDA 11 runtime' },
    { name: 'cudnn64_8.dll', what: 'cuDNN 8' },
  ],
};

export interface LibrarySearch {
  platform: string;
  /** `ldconfig -p`'s listing (Linux), '' where it cannot run. */
  linkerCache: string;
  /** Folders searched besides the cache: LD_LIBRARY_PATH and CUDA's default, or PATH on Windows. */
  folders: string[];
  exists: (file: string) => boolean;
}

/** Each library tfjs-node-gpu needs, with where it was found; an empty list on a platform it does not support. */
export function findCudaLibraries(search: LibrarySearch): CudaLibrary[] {
  return (NEEDED[search.platform] ?? []).map(({ name, what }) => {
    const cached = search.linkerCache.split('\n').find((line) => line.trim().startsWith(`${name} `));
    const inFolder = search.folders.map((f) => join(f, name)).find((file) => search.exists(file));
    return { name, what, path: cached?.split('=>').pop()?.trim() ?? inFolder };
  });
}

/** The search on this machine. */
function thisMachine(env: NodeJS.ProcessEnv = process.env): LibrarySearch {
  const listed = (variable: string | undefined) => (variable ?? '').split(delimiter).filter(Boolean);
  let linkerCache = '';
  if (process.platform === 'linux')
    for (const ldconfig of ['ldconfig', '/sbin/ldconfig'])
      try {
        linkerCache = execFileSync(ldconfig, ['-p'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
        break;
      } catch {
        continue;
      }
  const folders =
    process.platform === 'win32'
      ? listed(env.PATH ?? env.Path)
      : [...listed(env.LD_LIBRARY_PATH), '/usr/local/cuda/lib64', '/usr/local/cuda-11.2/lib64'];
  return { platform: process.platform, linkerCache, folders, exists: existsSync };
}

/** "libcudart.so.11.0 (the CUDA 11 runtime) and libcudnn.so.8 (cuDNN 8)": what is missing, or ''. */
export function describeMissing(libraries: CudaLibrary[]): string {
  return libraries
    .filter((l) => !l.path)
    .map((l) => `${l.name} (${l.what})`)
    .join(' and ');
}

/** What this machine lacks of CUDA 11 and cuDNN 8, in words, or ''. */
export function missingOnThisMachine(): string {
  return describeMissing(findCudaLibraries(thisMachine()));
}
