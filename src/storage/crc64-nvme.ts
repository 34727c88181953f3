// CRC-64/NVME: reflected polynomial 0x9a6c9329ac4bc9b5, init and xorout all ones. Pure JS, slicing-by-16.
// The 64-bit register is kept as two 32-bit halves (hi, lo) so no BigInt appears in the loop; BigInt is used only
// at the function boundary.

/** High and low 32 bits of the reflected CRC-64/NVME polynomial 0x9a6c9329ac4bc9b5. */
export const CRC64_NVME_POLYNOMIAL = { hi: 0x9a6c9329, lo: 0xac4bc9b5 } as const;

// HI[k * 256 + b] / LO[k * 256 + b]: the register contribution of byte b followed by k zero bytes.
const HI = new Int32Array(16 * 256);
const LO = new Int32Array(16 * 256);
for (let b = 0; b < 256; b++) {
  let hi = 0;
  let lo = b;
  for (let j = 0; j < 8; j++) {
    const carry = lo & 1;
    lo = (lo >>> 1) | ((hi & 1) << 31);
    hi >>>= 1;
    if (carry) {
      hi ^= CRC64_NVME_POLYNOMIAL.hi;
      lo ^= CRC64_NVME_POLYNOMIAL.lo;
    }
  }
  HI[b] = hi;
  LO[b] = lo;
}
for (let k = 1; k < 16; k++) {
  for (let b = 0; b < 256; b++) {
    const hi = HI[(k - 1) * 256 + b]!;
    const lo = LO[(k - 1) * 256 + b]!;
    const x = lo & 0xff;
    HI[k * 256 + b] = (hi >>> 8) ^ HI[x]!;
    LO[k * 256 + b] = ((lo >>> 8) | (hi << 24)) ^ LO[x]!;
  }
}

const MASK32 = 0xffffffffn;

/**
 * CRC-64/NVME of `data`, continuing from `previous` (the CRC-64/NVME of the bytes before `data`; 0n for none), as an
 * unsigned 64-bit bigint.
 */
export function crc64Nvme(data: Uint8Array, previous = 0n): bigint {
  const th = HI;
  const tl = LO;
  const n = data.length;
  let hi = ~Number((previous >> 32n) & MASK32);
  let lo = ~Number(previous & MASK32);
  let i = 0;
  for (const end = n - 16; i <= end; i += 16) {
    const a = lo ^ (data[i]! | (data[i + 1]! << 8) | (data[i + 2]! << 16) | (data[i + 3]! << 24));
    const b = hi ^ (data[i + 4]! | (data[i + 5]! << 8) | (data[i + 6]! << 16) | (data[i + 7]! << 24));
    const i0 = 0xf00 | (a & 0xff);
    const i1 = 0xe00 | ((a >>> 8) & 0xff);
    const i2 = 0xd00 | ((a >>> 16) & 0xff);
    const i3 = 0xc00 | (a >>> 24);
    const i4 = 0xb00 | (b & 0xff);
    const i5 = 0xa00 | ((b >>> 8) & 0xff);
    const i6 = 0x900 | ((b >>> 16) & 0xff);
    const i7 = 0x800 | (b >>> 24);
    const i8 = 0x700 | data[i + 8]!;
    const i9 = 0x600 | data[i + 9]!;
    const i10 = 0x500 | data[i + 10]!;
    const i11 = 0x400 | data[i + 11]!;
    const i12 = 0x300 | data[i + 12]!;
    const i13 = 0x200 | data[i + 13]!;
    const i14 = 0x100 | data[i + 14]!;
    const i15 = data[i + 15]!;
    lo =
      tl[i0]! ^
      tl[i1]! ^
      tl[i2]! ^
      tl[i3]! ^
      tl[i4]! ^
      tl[i5]! ^
      tl[i6]! ^
      tl[i7]! ^
      tl[i8]! ^
      tl[i9]! ^
      tl[i10]! ^
      tl[i11]! ^
      tl[i12]! ^
      tl[i13]! ^
      tl[i14]! ^
      tl[i15]!;
    hi =
      th[i0]! ^
      th[i1]! ^
      th[i2]! ^
      th[i3]! ^
      th[i4]! ^
      th[i5]! ^
      th[i6]! ^
      th[i7]! ^
      th[i8]! ^
      th[i9]! ^
      th[i10]! ^
      th[i11]! ^
      th[i12]! ^
      th[i13]! ^
      th[i14]! ^
      th[i15]!;
  }
  for (; i < n; i++) {
    const x = (lo ^ data[i]!) & 0xff;
    lo = ((lo >>> 8) | (hi << 24)) ^ tl[x]!;
    hi = (hi >>> 8) ^ th[x]!;
  }
  return (BigInt(~hi >>> 0) << 32n) | BigInt(~lo >>> 0);
}
