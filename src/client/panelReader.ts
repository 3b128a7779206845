// The runs panel's reads of the run folders, kept between refreshes so that one costs little while a run trains:
// runs parsed only as far as they grew (RunCache), a config's MACs computed once, a sample's mtime read once. It
// answers what the view model asks of a folder (panelModel.ts `RunFacts`); how a file becomes a webview URI is
// passed in, so this module needs no vscode.

import { readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import { analyze } from '../core/analysis';
import type { PanelRun } from '../protocol/panel';
import type { SampleRef } from '../protocol/runs';
import { hasCheckpoint } from '../runFolders/checkpoints';
import { probeMtime, readProbe } from '../runFolders/probes';
import { readRunsAndSweeps, sampleInside, type RunCache } from '../runFolders/runFolders';
import type { RunFacts } from './panelModel';

/** A run's samples as last shown: their paths, and their URIs (with the file's mtime). */
interface ShownSamples {
  generation: number;
  paths: string[];
  uris: PanelRun['samples'];
}

export class PanelReader {
  private readonly cache: RunCache = new Map();
  /** Generator MACs per run folder: a run's config never changes. */
  private readonly macs = new Map<string, number | undefined>();
  private readonly samplesShown = new Map<string, ShownSamples>();

  /** Every run and sweep under `root`, parsing only what changed since the last read. */
  read(root: string, isLive: (dir: string) => boolean): ReturnType<typeof readRunsAndSweeps> {
    return readRunsAndSweeps(root, isLive, this.cache);
  }

  /** The facts of the folders as last read; `uri` makes a file a URI the webview may load. */
  facts(uri: (file: string) => string): Pick<RunFacts, FolderFact> {
    return {
      folderKey: (dir) => this.cache.get(dir)?.key,
      probeMtime,
      probe: readProbe,
      macs: (dir) => this.macsOf(dir),
      checkpointed: hasCheckpoint,
      uri,
      samples: (dir, samples) => this.sampleUris(dir, samples, uri),
    };
  }

  private macsOf(dir: string): number | undefined {
    if (!this.macs.has(dir)) this.macs.set(dir, generatorMacs(dir));
    return this.macs.get(dir);
  }

  /**
   * A run's samples as webview URIs (with the file's mtime, so a sample rewritten after a resume is loaded again).
   * Only samples appended since the last refresh are looked at (all again after events.jsonl was rewritten by a
   * resume): a long run's refresh does not stat every figure.
   */
  private sampleUris(dir: string, samples: readonly SampleRef[], uri: (file: string) => string): PanelRun['samples'] {
    const known = this.samplesShown.get(dir);
    const generation = this.cache.get(dir)?.tail.generation ?? -1;
    const extends_ =
      known?.generation === generation &&
      known.paths.length <= samples.length &&
      known.paths.at(-1) === samples[known.paths.length - 1]?.path;
    const kept: ShownSamples = extends_ ? known : { generation, paths: [], uris: [] };
    for (const s of samples.slice(kept.paths.length)) {
      kept.paths.push(s.path);
      const file = sampleInside(dir, s.path);
      if (!file) continue;
      let mtime = 0;
      try {
        mtime = statSync(file).mtimeMs;
      } catch {
        continue; // deleted while shown
      }
      const shown = `${uri(file)}?v=${Math.round(mtime)}`;
      kept.uris.push({
        step: s.step,
        split: s.split,
        uri: shown,
        ...(s.neighbours ? { neighbours: s.neighbours } : {}),
      });
    }
    this.samplesShown.set(dir, kept);
    return [...kept.uris];
  }
}

/** The facts read from the folders (the others are the host's: live steps, probes running, scheduler states). */
type FolderFact = 'folderKey' | 'probeMtime' | 'probe' | 'macs' | 'checkpointed' | 'uri' | 'samples';

function generatorMacs(dir: string): number | undefined {
  try {
    const text = readFileSync(path.join(dir, 'config.p2p.yaml'), 'utf8');
    return analyze(text).generator?.totals.macs;
  } catch {
    return undefined;
  }
}
