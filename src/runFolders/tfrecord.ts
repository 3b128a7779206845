// TFRecord framing, as TensorFlow's and TensorBoard's readers take it: each record is its length (u64,
// little-endian), the masked CRC-32C of those 8 bytes, the data, and the masked CRC-32C of the data.

/** CRC-32C (Castagnoli, reflected polynomial 0x82f63b78), one table lookup per byte. */
const TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

export function crc32c(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < data.length; i++) crc = TABLE[(crc ^ data[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** TFRecord's masked CRC: rotated right by 15 bits plus a constant, so a CRC of CRCs does not degenerate. */
export function maskedCrc(data: Uint8Array): number {
  const crc = crc32c(data);
  return ((((crc >>> 15) | (crc << 17)) >>> 0) + 0xa282ead8) >>> 0;
}

/** One record, framed. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + data.length);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc(data), true);
  return out;
}

/**
 * The records of a file, in order, up to the first that is cut off or fails a CRC (the tail a crash mid-write
 * leaves): `intact` says whether the whole file was read.
 */
export function readTfRecords(file: Uint8Array): { records: Uint8Array[]; intact: boolean } {
  const records: Uint8Array[] = [];
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let at = 0;
  while (at + 12 <= file.length) {
    const length = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== maskedCrc(file.subarray(at, at + 8))) break;
    if (at + 16 + length > file.length) break;
    const data = file.subarray(at + 12, at + 12 + length);
    if (view.getUint32(at + 12 + length, true) !== maskedCrc(data)) break;
    records.push(data);
    at += 16 + length;
  }
  return { records, intact: at === file.length };
}
