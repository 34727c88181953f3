// Combining CRCs (zlib's crc32_combine, generalised): given crc(A), crc(B) and |B|, crc(A || B) without the bytes.
// For a reflected CRC whose init equals its xorout (CRC-32, CRC-32C, CRC-64/NVME all use all-ones), the
// conditioning cancels and crc(A || B) = crc(A) * x^(8|B|) mod P  xor  crc(B), computed in GF(2)[x].
//
// Polynomials are in the reflected bit order the CRCs use: the most significant bit holds x^0. x^(2^k) mod P is
// tabulated per polynomial, so x^(8n) mod P costs one multiplication per set bit of n.

const MAX_LENGTH_BITS = 64; // covers every safe-integer byte length (8n < 2^56)

function checkLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 0)
    throw new RangeError(`invalid CRC combine length ${length}`);
}

// ---- 32-bit CRCs: registers are unsigned numbers ----

function multiply32(a: number, b: number, poly: number): number {
  let p = 0;
  for (let bit = 31; bit >= 0; bit--) {
    if ((a >>> bit) & 1) p ^= b;
    b = b & 1 ? (b >>> 1) ^ poly : b >>> 1;
  }
  return p >>> 0;
}

const powers32 = new Map<number, Uint32Array>();

function powersOf32(poly: number): Uint32Array {
  let table = powers32.get(poly);
  if (table === undefined) {
    table = new Uint32Array(MAX_LENGTH_BITS);
    let x = 0x40000000; // x^1
    for (let k = 0; k < MAX_LENGTH_BITS; k++) {
      table[k] = x;
      x = multiply32(x, x, poly);
    }
    powers32.set(poly, table);
  }
  return table;
}

/**
 * CRC of A || B for a reflected 32-bit CRC with init = xorout (CRC-32: 0xedb88320, CRC-32C: 0x82f63b78), from
 * crcA = crc(A), crcB = crc(B) and lengthB = |B| in bytes.
 */
export function crc32Combine(polynomial: number, crcA: number, crcB: number, lengthB: number): number {
  checkLength(lengthB);
  const powers = powersOf32(polynomial >>> 0);
  let op = 0x80000000; // x^0
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) op = multiply32(powers[k]!, op, polynomial);
  }
  return (multiply32(op, crcA >>> 0, polynomial) ^ crcB) >>> 0;
}

// ---- 64-bit CRCs: registers are [hi, lo] pairs of unsigned 32-bit numbers ----

type Pair = readonly [hi: number, lo: number];

function multiply64(a: Pair, b: Pair, polyHi: number, polyLo: number): Pair {
  let [bHi, bLo] = b;
  let pHi = 0;
  let pLo = 0;
  for (let bit = 63; bit >= 0; bit--) {
    const set = bit >= 32 ? (a[0] >>> (bit - 32)) & 1 : (a[1] >>> bit) & 1;
    if (set) {
      pHi ^= bHi;
      pLo ^= bLo;
    }
    const carry = bLo & 1;
    bLo = (bLo >>> 1) | ((bHi & 1) << 31);
    bHi >>>= 1;
    if (carry) {
      bHi ^= polyHi;
      bLo ^= polyLo;
    }
  }
  return [pHi >>> 0, pLo >>> 0];
}

const powers64 = new Map<string, Pair[]>();

function powersOf64(polyHi: number, polyLo: number): Pair[] {
  const id = `${polyHi}:${polyLo}`;
  let table = powers64.get(id);
  if (table === undefined) {
    table = [];
    let x: Pair = [0x40000000, 0]; // x^1
    for (let k = 0; k < MAX_LENGTH_BITS; k++) {
      table.push(x);
      x = multiply64(x, x, polyHi, polyLo);
    }
    powers64.set(id, table);
  }
  return table;
}

const MASK32 = 0xffffffffn;

/**
 * CRC of A || B for a reflected 64-bit CRC with init = xorout (CRC-64/NVME: { hi: 0x9a6c9329, lo: 0xac4bc9b5 }),
 * from crcA = crc(A), crcB = crc(B) and lengthB = |B| in bytes.
 */
export function crc64Combine(
  polynomial: { readonly hi: number; readonly lo: number },
  crcA: bigint,
  crcB: bigint,
  lengthB: number,
): bigint {
  checkLength(lengthB);
  const polyHi = polynomial.hi >>> 0;
  const polyLo = polynomial.lo >>> 0;
  const powers = powersOf64(polyHi, polyLo);
  let op: Pair = [0x80000000, 0]; // x^0
  for (let n = lengthB, k = 3; n > 0; n = Math.floor(n / 2), k++) {
    if (n % 2 === 1) op = multiply64(powers[k]!, op, polyHi, polyLo);
  }
  const a: Pair = [Number((crcA >> 32n) & MASK32), Number(crcA & MASK32)];
  const [hi, lo] = multiply64(op, a, polyHi, polyLo);
  return ((BigInt(hi) << 32n) | BigInt(lo)) ^ (crcB & 0xffffffffffffffffn);
}
