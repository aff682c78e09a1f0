// Byte-level checks the editor cannot see once a file is decoded: invalid UTF-8 sequences and
// a byte order mark. Validation is native (buffer.isUtf8); the JS scan that locates the bad
// bytes runs only on a file that failed it.

import { isUtf8 } from 'node:buffer';
import * as l10n from '@vscode/l10n';

export function hasUtf8Bom(bytes: Uint8Array): boolean {
  return bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
}

export function isValidUtf8(bytes: Uint8Array): boolean {
  return isUtf8(bytes);
}

/** Byte offsets and lengths of invalid sequences (maximal invalid subparts, as decoders see them). */
export function findInvalidUtf8(bytes: Uint8Array, limit = 1000): { offset: number; length: number }[] {
  const out: { offset: number; length: number }[] = [];
  const n = bytes.length;
  let i = 0;
  while (i < n && out.length < limit) {
    const b = bytes[i];
    if (b < 0x80) { i++; continue; }
    let need = 0;
    let lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) need = 1;
    else if (b >= 0xe0 && b <= 0xef) { need = 2; if (b === 0xe0) lo = 0xa0; if (b === 0xed) hi = 0x9f; }
    else if (b >= 0xf0 && b <= 0xf4) { need = 3; if (b === 0xf0) lo = 0x90; if (b === 0xf4) hi = 0x8f; }
    else { out.push({ offset: i, length: 1 }); i++; continue; }
    let j = 1;
    for (; j <= need; j++) {
      const c = bytes[i + j];
      const l = j === 1 ? lo : 0x80, h = j === 1 ? hi : 0xbf;
      if (c === undefined || c < l || c > h) break;
    }
    if (j <= need) { out.push({ offset: i, length: j }); i += j; continue; }
    i += need + 1;
  }
  return out;
}

/** Describes the bytes at an invalid sequence, e.g. "0xE9" — with a likely-cause hint. */
export function describeInvalidBytes(bytes: Uint8Array, offset: number, length: number): string {
  const hex = Array.from(bytes.subarray(offset, offset + length), (b) => '0x' + b.toString(16).toUpperCase().padStart(2, '0')).join(' ');
  const b = bytes[offset];
  const hint = b >= 0xa0 && length === 1 ? l10n.t(' The file looks like Latin-1 / Windows-1252: re-save it as UTF-8.') : l10n.t(' The file may be truncated or in another encoding: re-save it as UTF-8.');
  return length > 1 ? l10n.t('Invalid UTF-8 bytes {0}; it reads as �.{1}', hex, hint) : l10n.t('Invalid UTF-8 byte {0}; it reads as �.{1}', hex, hint);
}
