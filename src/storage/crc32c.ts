// CRC-32C (Castagnoli): reflected polynomial 0x82f63b78, init and xorout 0xffffffff. Pure JS, slicing-by-16.

/** The reflected CRC-32C polynomial. */
export const CRC32C_POLYNOMIAL = 0x82f63b78;

// TABLE[k * 256 + b] is the CRC register contribution of byte b followed by k zero bytes. Int32Array keeps every
// value a 32-bit integer for the optimizing compiler; the sign bit is irrelevant to XOR and shifts.
const TABLE = new Int32Array(16 * 256);
for (let b = 0; b < 256; b++) {
  let c = b;
  for (let j = 0; j < 8; j++) c = c & 1 ? (c >>> 1) ^ CRC32C_POLYNOMIAL : c >>> 1;
  TABLE[b] = c;
}
for (let k = 1; k < 16; k++) {
  for (let b = 0; b < 256; b++) {
    const prev = TABLE[(k - 1) * 256 + b]!;
    TABLE[k * 256 + b] = (prev >>> 8) ^ TABLE[prev & 0xff]!;
  }
}

/**
 * CRC-32C of `data`, continuing from `previous` (the CRC-32C of the bytes before `data`; 0 for none), as an
 * unsigned 32-bit number. Same calling convention as zlib.crc32(data, value).
 */
export function crc32c(data: Uint8Array, previous = 0): number {
  const t = TABLE;
  const n = data.length;
  let crc = ~previous;
  let i = 0;
  for (const end = n - 16; i <= end; i += 16) {
    crc ^= data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24);
    crc =
      t[0xf00 | (crc & 0xff)]! ^
      t[0xe00 | ((crc >>> 8) & 0xff)]! ^
      t[0xd00 | ((crc >>> 16) & 0xff)]! ^
      t[0xc00 | (crc >>> 24)]! ^
      t[0xb00 | data[i + 4]!]! ^
      t[0xa00 | data[i + 5]!]! ^
      t[0x900 | data[i + 6]!]! ^
      t[0x800 | data[i + 7]!]! ^
      t[0x700 | data[i + 8]!]! ^
      t[0x600 | data[i + 9]!]! ^
      t[0x500 | data[i + 10]!]! ^
      t[0x400 | data[i + 11]!]! ^
      t[0x300 | data[i + 12]!]! ^
      t[0x200 | data[i + 13]!]! ^
      t[0x100 | data[i + 14]!]! ^
      t[data[i + 15]!]!;
  }
  for (; i < n; i++) crc = (crc >>> 8) ^ t[(crc ^ data[i]!) & 0xff]!;
  return ~crc >>> 0;
}
