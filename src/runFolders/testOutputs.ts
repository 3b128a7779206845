// `test-outputs.u8`: a run's test outputs at its last evaluation, 8 bits a value, for comparisons between runs
// that need the images themselves (the disjoint halves of an ablation). One JSON header line, then the bytes.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const TEST_OUTPUTS_FILE = 'test-outputs.u8';

export interface TestOutputs {
  step: number;
  count: number;
  size: number;
  channels: number;
  /** On [-1, 1], one view per image. */
  images: Float32Array[];
}

/** The file's bytes for `count` images on [-1, 1] of `size` x `size` x `channels`. */
export function encodeTestOutputs(
  generated: Float32Array,
  { step, count, size, channels }: Omit<TestOutputs, 'images'>,
): Buffer {
  const header = Buffer.from(JSON.stringify({ step, count, size, channels }) + '\n');
  const bytes = Uint8Array.from(generated.subarray(0, count * size * size * channels), (v) =>
    Math.max(0, Math.min(255, Math.round((v + 1) * 127.5))),
  );
  return Buffer.concat([header, bytes]);
}

/** A run's test outputs, or undefined when it wrote none (or a torn file). */
export function readTestOutputs(runDir: string): TestOutputs | undefined {
  let data: Buffer;
  try {
    data = readFileSync(join(runDir, TEST_OUTPUTS_FILE));
  } catch {
    return undefined;
  }
  const end = data.indexOf(10);
  if (end < 0) return undefined;
  const { step, count, size, channels } = JSON.parse(data.subarray(0, end).toString()) as Omit<TestOutputs, 'images'>;
  const per = size * size * channels;
  if (data.length - end - 1 !== count * per) return undefined;
  const images = Array.from({ length: count }, (_, i) =>
    Float32Array.from(data.subarray(end + 1 + i * per, end + 1 + (i + 1) * per), (v) => v / 127.5 - 1),
  );
  return { step, count, size, channels, images };
}
