// TFRecord framing and TensorBoard's log of a run: CRC-32C against its published check values, records framed and
// read back, a torn tail cut off, and a resumed run's events after its checkpoint dropped.
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { TensorBoardLog } from '../../src/runFolders/tensorboard';
import { crc32c, maskedCrc, readTfRecords, tfRecord } from '../../src/runFolders/tfrecord';
import { stepsOf, tensorboardEvents } from '../support/tensorboardEvents';
import { tempDir } from '../support/tempDir';

const bytes = (s: string) => new TextEncoder().encode(s);
const figure = () =>
  sharp({ create: { width: 12, height: 7, channels: 3, background: { r: 200, g: 40, b: 10 } } })
    .png()
    .toBuffer();

describe('TFRecord framing', () => {
  it('computes CRC-32C as published (RFC 3720 B.4, the "123456789" check value) and masks it as TensorFlow does', () => {
    assert.equal(crc32c(bytes('123456789')), 0xe3069283);
    assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
    assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
    assert.equal(crc32c(Uint8Array.from({ length: 32 }, (_, i) => i)), 0x46dd794e);
    assert.equal(maskedCrc(new Uint8Array(0)), 0xa282ead8, 'crc 0, rotated, plus the mask constant');
  });

  it('reads back what it frames, and stops at a torn or corrupted record', () => {
    const records = ['', 'a', 'tensorboard'.repeat(100)].map(bytes);
    const file = new Uint8Array(records.map(tfRecord).reduce((n, r) => n + r.length, 0));
    let at = 0;
    for (const r of records.map(tfRecord)) file.set(r, (at += r.length) - r.length);
    assert.deepEqual(readTfRecords(file), { records, intact: true });
    assert.deepEqual(readTfRecords(file.subarray(0, file.length - 3)), { records: records.slice(0, 2), intact: false });
    const flipped = file.slice();
    flipped[16 + 17 + 12] ^= 1; // the third record's first data byte
    assert.deepEqual(readTfRecords(flipped).records.length, 2);
  });
});

describe("a run's TensorBoard log", () => {
  it('writes scalars and images by step, and drops what came after a checkpoint (and a torn tail) on resume', async () => {
    const run = tempDir('p2p-tb-');
    const png = await figure();
    const log = new TensorBoardLog(run);
    for (let step = 1; step <= 30; step++) log.scalars(step, { 'loss/D': step / 10, 'test/L1': undefined });
    log.image(30, 'samples/test', png);
    const file = join(run, 'tensorboard', readdirSync(join(run, 'tensorboard'))[0]);
    appendFileSync(file, tfRecord(bytes('x')).subarray(0, 7)); // a crash mid-write
    new TensorBoardLog(run).dropAfter(20);
    const resumed = new TensorBoardLog(run);
    for (let step = 21; step <= 25; step++) resumed.scalars(step, { 'loss/D': -step });
    const events = tensorboardEvents(run);
    assert.equal(events[0].fileVersion, 'brain.Event:2');
    assert.deepEqual(
      stepsOf(events, 'loss/D'),
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    assert.deepEqual(stepsOf(events, 'test/L1'), [], 'an absent value is not written');
    assert.deepEqual(stepsOf(events, 'samples/test'), [], 'the image at 30 went with its step');
    const d = events.flatMap((e) => e.values.filter((v) => v.tag === 'loss/D').map((v) => [e.step, v.simpleValue]));
    assert.deepEqual(d.at(19), [20, Math.fround(2)]);
    assert.deepEqual(d.at(-1), [25, -25]);
  });

  it('leaves out what it cannot write, says so once, and does not stop the run', () => {
    const run = tempDir('p2p-tb-');
    mkdirSync(join(run, 'tensorboard', 'events.out.tfevents.1.p2p'), { recursive: true }); // unwritable: a folder
    const warnings: string[] = [];
    const log = new TensorBoardLog(run, (m) => warnings.push(m));
    log.scalars(1, { 'loss/D': 1 });
    log.scalars(2, { 'loss/D': 2 });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /^tensorboard: a record at step 1 left out of .*tensorboard: EISDIR/);
  });

  it('holds a PNG figure with its size', async () => {
    const run = tempDir('p2p-tb-');
    const png = await figure();
    new TensorBoardLog(run).image(7, 'samples/train', png);
    const [, event] = tensorboardEvents(run);
    const image = event.values[0].image!;
    assert.deepEqual([event.step, image.width, image.height], [7, 12, 7]);
    assert.deepEqual(Buffer.from(image.encodedImageString), png);
  });
});
