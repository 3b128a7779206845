// A run's events as TensorBoard reads them: `tensorboard/events.out.tfevents.<time>.p2p` in the run folder, a
// TFRecord file (tfrecord.ts) of tensorflow.Event messages, encoded by protobufjs from the fields of TensorBoard's
// event.proto and summary.proto used here (field numbers as there). The trainer's step events give the losses, its
// evaluations the metrics.csv columns, its sample figures images; `tensorboard --logdir runs` shows them by step.
// A resumed run drops what was recorded after its checkpoint here as in metrics.csv, so no step appears twice.

import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { Root, type Type } from 'protobufjs/light';
import type { EvalPayload, Quality, StepPayload } from '../protocol/trainer';
import { writeAtomic } from './atomicWrite';
import { readTfRecords, tfRecord } from './tfrecord';

export const TENSORBOARD_DIR = 'tensorboard';

/** tensorflow.Event and tensorflow.Summary: the fields this writer sets, by their numbers in TensorBoard's protos. */
const SCHEMA = Root.fromJSON({
  nested: {
    tensorflow: {
      nested: {
        Event: {
          fields: {
            wallTime: { type: 'double', id: 1 },
            step: { type: 'int64', id: 2 },
            fileVersion: { type: 'string', id: 3 },
            summary: { type: 'Summary', id: 5 },
          },
        },
        Summary: {
          fields: { value: { rule: 'repeated', type: 'Value', id: 1 } },
          nested: {
            Image: {
              fields: {
                height: { type: 'int32', id: 1 },
                width: { type: 'int32', id: 2 },
                colorspace: { type: 'int32', id: 3 },
                encodedImageString: { type: 'bytes', id: 4 },
              },
            },
            Value: {
              fields: {
                tag: { type: 'string', id: 1 },
                simpleValue: { type: 'float', id: 2 },
                image: { type: 'Image', id: 4 },
              },
            },
          },
        },
      },
    },
  },
});
const EVENT: Type = SCHEMA.lookupType('tensorflow.Event');

interface SummaryValue {
  tag: string;
  simpleValue?: number;
  image?: { height: number; width: number; colorspace: number; encodedImageString: Uint8Array };
}

/** An evaluation's scalars, under TensorBoard tags grouped as metrics.csv's columns are. */
export function evalScalars(e: EvalPayload): Record<string, number | undefined> {
  const quality = (split: string, q: Quality | null) =>
    q ? { [`${split}/L1`]: q.l1, [`${split}/PSNR`]: q.psnr, [`${split}/SSIM`]: q.ssim } : {};
  const m = e.memorisation;
  const c = e.critic;
  return {
    ...quality('train', e.train),
    ...quality('test', e.test),
    ...quality('gap', e.gap),
    'memorisation/test_nn_median': m?.nnMedian,
    'memorisation/copy_rate': m?.copyRate,
    'memorisation/copying_ct': m?.ct,
    'memorisation/diversity': m?.diversity,
    'critic/train': c?.train,
    'critic/test': c?.test,
    'critic/generated': c?.generated,
    'critic/rt': c?.rt,
    'critic/rv': c?.rv,
  };
}

/** A step's losses. */
export function lossScalars(p: StepPayload): Record<string, number> {
  return { 'loss/G_L1': p.gL1, 'loss/G_GAN': p.gGan, 'loss/G_total': p.gTotal, 'loss/D': p.dLoss };
}

/** A PNG's width and height, from its IHDR chunk. */
function pngSize(png: Uint8Array): { width: number; height: number } {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

/**
 * A run's TensorBoard log. It is a copy of what events.jsonl and metrics.csv hold, so a record that cannot be written
 * (a full disk) is left out, the file cut back to its last whole record, and training goes on: `warn` says so, once.
 */
export class TensorBoardLog {
  private readonly dir: string;
  private file: string | undefined;
  private warned = false;

  constructor(
    runDir: string,
    private readonly warn: (message: string) => void = (m) => process.stderr.write(`${m}\n`),
  ) {
    this.dir = join(runDir, TENSORBOARD_DIR);
  }

  scalars(step: number, values: Record<string, number | undefined>): void {
    const value = Object.entries(values)
      .filter((entry): entry is [string, number] => entry[1] !== undefined && Number.isFinite(entry[1]))
      .map(([tag, simpleValue]) => ({ tag, simpleValue }));
    if (value.length) this.append(step, value);
  }

  /** A PNG figure under `tag` (RGB: colorspace 3). */
  image(step: number, tag: string, png: Uint8Array): void {
    const { width, height } = pngSize(png);
    this.append(step, [{ tag, image: { height, width, colorspace: 3, encodedImageString: png } }]);
  }

  /** Drops the events after `step` (and a torn last record) from every event file of the run. */
  dropAfter(step: number): void {
    for (const file of this.files()) {
      const { records, intact } = readTfRecords(readFileSync(file));
      const kept = records.filter((r) => {
        const e = EVENT.toObject(EVENT.decode(r), { longs: Number }) as { step?: number; fileVersion?: string };
        return e.fileVersion !== undefined || (e.step ?? 0) <= step;
      });
      if (kept.length < records.length || !intact) writeAtomic(file, Buffer.concat(kept.map(tfRecord)));
    }
  }

  private files(): string[] {
    if (!existsSync(this.dir)) return [];
    return readdirSync(this.dir)
      .filter((f) => f.includes('tfevents'))
      .sort()
      .map((f) => join(this.dir, f));
  }

  private append(step: number, value: SummaryValue[]): void {
    const event = { wallTime: Date.now() / 1000, step, summary: { value } };
    const record = tfRecord(EVENT.encode(EVENT.fromObject(event)).finish());
    let file: string | undefined;
    let size = 0;
    try {
      file = this.eventFile();
      size = statSync(file).size;
      appendFileSync(file, record);
    } catch (e) {
      if (file) cutBack(file, size);
      if (!this.warned)
        this.warn(`tensorboard: a record at step ${step} left out of ${this.dir}: ${(e as Error).message}`);
      this.warned = true;
    }
  }

  /** The run's event file, begun whole with its version record the first time (a resumed run appends to it). */
  private eventFile(): string {
    if (this.file) return this.file;
    const found = this.files().at(-1);
    if (found) return (this.file = found);
    mkdirSync(this.dir, { recursive: true });
    const file = join(this.dir, `events.out.tfevents.${Math.floor(Date.now() / 1000)}.p2p`);
    const version = { wallTime: Date.now() / 1000, fileVersion: 'brain.Event:2' };
    writeAtomic(file, tfRecord(EVENT.encode(EVENT.fromObject(version)).finish()));
    return (this.file = file);
  }
}

/** Cuts a file back to `size`; where even that fails, a resume's dropAfter drops the torn record. */
function cutBack(file: string, size: number): void {
  try {
    truncateSync(file, size);
  } catch {
    // left for dropAfter
  }
}
