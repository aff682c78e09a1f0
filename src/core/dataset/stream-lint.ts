// Lints a file straight from disk in fixed-size chunks, so a file of any size is linted with
// memory bounded by the chunk size plus the longest line. Used by the lint worker for files
// too large to hand over as editor text.

import { closeSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { LineLinter } from './line-linter';
import { byteProblems, lintBytes, type LintOptions, type LintResult } from './lint';
import { hasUtf8Bom } from './utf8';

const CHUNK_BYTES = 4 << 20;
/** Below this size the whole file is read at once, which also enables whole-document checks. */
const WHOLE_FILE_BYTES = 8 << 20;

export function lintFile(filePath: string, options: LintOptions = {}, onProgress?: (fraction: number) => void, chunkBytes = CHUNK_BYTES): LintResult {
  const fd = openSync(filePath, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size <= WHOLE_FILE_BYTES && chunkBytes === CHUNK_BYTES) {
      const result = lintBytes(readFileSync(fd), options);
      onProgress?.(1);
      return result;
    }
    const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
    let bom = false;
    // Lines are read back (to confirm a duplicate, or build a conversion fix) by byte range.
    const readBack = (offset: number, len: number): string => {
      const bytes = Buffer.allocUnsafe(len);
      readSync(fd, bytes, 0, len, offset);
      const text = new TextDecoder('utf-8', { ignoreBOM: true }).decode(bytes);
      return offset === 0 && bom ? ' ' + text.slice(1) : text;
    };
    const linter = new LineLinter(options, readBack);
    const needles = linter.contentTriggers().map((t) => ({ bit: t.bit, bytes: Buffer.from(t.needle, 'utf8') }));
    let carryLen = 0;
    let pos = 0;
    let line = 0;
    let first = true;
    // The unfinished last line of a chunk moves to the front of `work` and the next read lands
    // right after it, so chunk bytes are never copied; `work` grows only for a line longer
    // than a chunk.
    let work = Buffer.allocUnsafe(chunkBytes * 2);
    for (;;) {
      if (work.length - carryLen < chunkBytes) {
        const bigger = Buffer.allocUnsafe(Math.max(work.length * 2, carryLen + chunkBytes));
        work.copy(bigger, 0, 0, carryLen);
        work = bigger;
      }
      const n = readSync(fd, work, carryLen, chunkBytes, pos);
      pos += n;
      const eof = n === 0;
      const data = work.subarray(0, carryLen + n);
      const cut = eof ? data.length : data.lastIndexOf(0x0a) + 1;
      if (cut === 0 && !eof) {
        carryLen = data.length; // one line longer than a chunk: keep collecting it
        continue;
      }
      const piece = data.subarray(0, cut);
      byteProblems(linter, piece, line, first);
      let text = decoder.decode(piece);
      if (first && hasUtf8Bom(piece)) {
        bom = true;
        text = ' ' + text.slice(1);
        linter.suppressWhitespaceOnce(0);
      }
      first = false;
      line = feedPiece(linter, text, piece, pos - n - carryLen, line, eof, needles);
      data.copy(work, 0, cut); // the unfinished line, moved to the front for the next read
      carryLen = data.length - cut;
      onProgress?.(size > 0 ? Math.min(1, pos / size) : 1);
      if (eof) break;
    }
    return linter.finish();
  } finally {
    closeSync(fd);
  }
}

/**
 * Feeds the lines of one decoded piece with their byte offsets in the file (line breaks are
 * single bytes in UTF-8, so the text's lines and the bytes' lines correspond one to one).
 */
function feedPiece(linter: LineLinter, text: string, bytes: Buffer, fileOffset: number, startLine: number, isEnd: boolean, needles: { bit: number; bytes: Buffer }[]): number {
  // Byte search (memchr-fast) tells which lines contain a content-check trigger, so the
  // per-line string searches run only on lines that have one.
  const next = needles.map(() => -1);
  const triggersIn = (from: number, to: number): number => {
    let mask = 0;
    for (let k = 0; k < needles.length; k++) {
      if (next[k] < from && next[k] !== Infinity) {
        const at = bytes.indexOf(needles[k].bytes, from);
        next[k] = at < 0 ? Infinity : at;
      }
      if (next[k] < to) mask |= needles[k].bit;
    }
    return mask;
  };
  let line = startLine;
  let start = 0;
  let bstart = 0;
  const n = text.length;
  while (start < n) {
    const nl = text.indexOf('\n', start);
    if (nl < 0) {
      linter.pushLine(text.slice(start), line, 'none', fileOffset + bstart, bytes.length - bstart, triggersIn(bstart, bytes.length));
      return line + 1;
    }
    const bnl = bytes.indexOf(0x0a, bstart);
    const cr = nl > start && text.charCodeAt(nl - 1) === 13;
    linter.pushLine(text.slice(start, cr ? nl - 1 : nl), line, cr ? 'crlf' : 'lf', fileOffset + bstart, bnl - bstart - (cr ? 1 : 0), triggersIn(bstart, bnl));
    line++;
    start = nl + 1;
    bstart = bnl + 1;
  }
  if (isEnd && n === 0 && startLine === 0) linter.pushLine('', 0, 'none');
  return line;
}
