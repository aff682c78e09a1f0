// A fast 53-bit string hash for duplicate detection: the linter keeps one number per record
// instead of the record's text, so memory stays bounded on very large files. Two independent
// 32-bit multiplicative hashes make an accidental collision unlikely (about 1 in 10^10 pairs
// for a million records).

export function hashString(s: string): number {
  let h1 = 0x811c9dc5 ^ s.length;
  let h2 = 0x9747b28c;
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = Math.imul(h2 ^ c, 0x5bd1e995);
  }
  return finishHash(h1, h2);
}

/** The final avalanche of two 32-bit running hashes, so records differing in their last characters spread over all 53 bits. */
export function finishHash(h1: number, h2: number): number {
  h1 ^= h1 >>> 15;
  h1 = Math.imul(h1, 0x85ebca6b);
  h1 ^= h1 >>> 13;
  h2 ^= h2 >>> 16;
  h2 = Math.imul(h2, 0xc2b2ae35);
  h2 ^= h2 >>> 15;
  return (h2 >>> 0) * 0x200000 + (h1 >>> 11);
}
