// A run's TensorBoard event files read as TensorBoard reads them: TFRecord frames whose length and data CRCs are
// checked here (CRC-32C, masked), then tensorflow.Event messages decoded by protobufjs from test/support/tensorboard.proto.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as protobuf from 'protobufjs';
import { TENSORBOARD_DIR } from '../../src/runFolders/tensorboard';
import { crc32c } from '../../src/runFolders/tfrecord';

const EVENT = protobuf
  .parse(readFileSync(join(__dirname, 'tensorboard.proto'), 'utf8'))
  .root.lookupType('tensorflow.Event');

export interface DecodedEvent {
  step: number;
  wallTime: number;
  fileVersion?: string;
  values: {
    tag: string;
    simpleValue?: number;
    image?: { height: number; width: number; encodedImageString: Uint8Array };
  }[];
}

const masked = (data: Uint8Array) => {
  const c = crc32c(data);
  return ((((c >>> 15) | (c << 17)) >>> 0) + 0xa282ead8) >>> 0;
};

/** Every record of every event file under `runDir/tensorboard`, in order; fails on a bad frame or CRC. */
export function tensorboardEvents(runDir: string): DecodedEvent[] {
  const dir = join(runDir, TENSORBOARD_DIR);
  const files = readdirSync(dir)
    .filter((f) => f.includes('tfevents'))
    .sort();
  assert.ok(files.length > 0, `no event file in ${dir}`);
  const events: DecodedEvent[] = [];
  for (const name of files) {
    const file = readFileSync(join(dir, name));
    let at = 0;
    while (at < file.length) {
      const length = Number(file.readBigUInt64LE(at));
      assert.equal(file.readUInt32LE(at + 8), masked(file.subarray(at, at + 8)), `${name}: the length CRC at ${at}`);
      const data = file.subarray(at + 12, at + 12 + length);
      assert.equal(file.readUInt32LE(at + 12 + length), masked(data), `${name}: the data CRC at ${at}`);
      const e = EVENT.toObject(EVENT.decode(data), { longs: Number, defaults: false }) as Partial<DecodedEvent> & {
        summary?: { value?: DecodedEvent['values'] };
      };
      events.push({
        step: e.step ?? 0,
        wallTime: e.wallTime ?? 0,
        fileVersion: e.fileVersion,
        values: e.summary?.value ?? [],
      });
      at += 16 + length;
    }
  }
  return events;
}

/** The steps at which `tag` was written, in order. */
export function stepsOf(events: readonly DecodedEvent[], tag: string): number[] {
  return events.flatMap((e) => e.values.filter((v) => v.tag === tag).map(() => e.step));
}
