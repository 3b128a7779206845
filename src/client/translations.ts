// "pix2pix: Translate Image..." and the panel's drop zone: images through runs' generators in a trainer process
// (the same code as `p2p translate`, so the same pixels), into `translations/<time>/` beside the runs folder, and
// the absolute difference of two outputs for the panel's A/B view.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Translation } from '../protocol/trainer';
import { runName } from '../runFolders/runDir';
import { readRunsAndSweeps } from '../runFolders/runFolders';
import { translateInProcess } from '../host/trainerProcess';
import { trainerEnv } from './settings';
import { hasCheckpoint } from '../runFolders/checkpoints';

const IMAGE_FILTERS = { Images: ['png', 'jpg', 'jpeg', 'webp', 'gif', 'tif', 'tiff', 'avif'] };

export class Translations {
  /** The last translation, which the panel's A/B view refers to by index. */
  last: Translation | undefined;

  constructor(
    private readonly trainerPath: string,
    private readonly runsRoot: () => string,
  ) {}

  /** Where translations go: `translations/` beside the runs folder, never inside a run. */
  get root(): string {
    return path.join(path.dirname(this.runsRoot()), 'translations');
  }

  /** An image dropped on the panel, saved under translations/dropped/ to be translated like a chosen file. */
  saveDropped(name: string, base64: string): string {
    const dir = path.join(this.root, 'dropped');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, path.basename(name).replace(/[^\w.-]+/g, '_') || 'image');
    writeFileSync(file, Buffer.from(base64, 'base64'));
    return file;
  }

  async translate(runs: string[], images: string[]): Promise<Translation> {
    const out = path.join(this.root, runName('translate', new Date()));
    const title = `pix2pix: translating ${images.length} image${images.length === 1 ? '' : 's'} with ${runs.length} run${runs.length === 1 ? '' : 's'}`;
    this.last = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title }, () =>
      translateInProcess(this.trainerPath, { runs, images, out }, trainerEnv()),
    );
    return this.last;
  }

  /** |A - B| of two outputs of the last translation's image, as a PNG beside them, and its largest value. */
  async difference(image: number, a: number, b: number): Promise<{ file: string; max: number }> {
    const outputs = this.last?.images[image]?.outputs;
    if (!outputs?.[a] || !outputs[b]) throw new Error('no such outputs in the last translation');
    const { default: sharp } = await import('sharp');
    const read = (file: string) => sharp(file).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const [A, B] = await Promise.all([read(outputs[a].output), read(outputs[b].output)]);
    if (A.info.width !== B.info.width || A.info.height !== B.info.height || A.info.channels !== B.info.channels)
      throw new Error('the two outputs differ in size: their runs have different image sizes');
    const diff = Buffer.from(A.data.map((v, i) => Math.abs(v - B.data[i])));
    const file = path.join(path.dirname(outputs[a].output), `difference-${a}-${b}.png`);
    const { width, height, channels } = A.info;
    if (!existsSync(file)) await sharp(diff, { raw: { width, height, channels } }).png().toFile(file);
    return { file, max: diff.reduce((m, v) => Math.max(m, v), 0) };
  }

  /** Asks for images and runs (those with a checkpoint), unless given; undefined when the user cancels. */
  async pick(runs?: string[]): Promise<{ runs: string[]; images: string[] } | undefined> {
    const picked = await vscode.window.showOpenDialog({
      canSelectMany: true,
      filters: IMAGE_FILTERS,
      openLabel: 'Translate',
    });
    if (!picked?.length) return undefined;
    const images = picked.map((u) => u.fsPath);
    if (runs?.length) return { runs, images };
    const root = this.runsRoot();
    const items = readRunsAndSweeps(root, () => false)
      .runs.filter((r) => hasCheckpoint(r.dir))
      .map((r) => ({ label: r.name, description: r.id, dir: r.dir }));
    if (!items.length) {
      void vscode.window.showInformationMessage(`pix2pix: no run with a checkpoint in ${root}.`);
      return undefined;
    }
    const chosen = await vscode.window.showQuickPick(items, {
      canPickMany: true,
      placeHolder: 'Runs to translate with',
    });
    return chosen?.length ? { runs: chosen.map((c) => c.dir), images } : undefined;
  }
}
