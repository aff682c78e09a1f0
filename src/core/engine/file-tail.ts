// Follows a file another process appends to (a detached trainer's events.jsonl and trainer.log)
// from a byte offset: every complete line is delivered once, in order; a line still being
// written waits for its newline. The offset is the reader's whole state, so a window that
// reopens continues exactly where the file was read up to: no gap, no line twice.
import * as fs from 'node:fs';

const POLL_MS = 100;

export class FileTail {
  private timer: NodeJS.Timeout | undefined;
  private partial = Buffer.alloc(0);

  /** `offset`: the byte to start at (the file's size when only new lines matter). */
  constructor(
    readonly file: string,
    private offset: number,
    private readonly onLines: (lines: string[]) => void,
  ) {}

  /** The end of the last complete line delivered: the file before it is what the reader has seen. */
  get position(): number {
    return this.offset - this.partial.length;
  }

  start(): void {
    this.timer ??= setInterval(() => this.read(), POLL_MS);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads what has been appended and delivers the complete lines; returns how many. */
  read(): number {
    let fd: number;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch {
      return 0; // not written yet
    }
    const chunks: Buffer[] = [this.partial];
    try {
      const buf = Buffer.alloc(1 << 16);
      for (;;) {
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        if (n <= 0) break;
        chunks.push(Buffer.from(buf.subarray(0, n)));
        this.offset += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    const all = Buffer.concat(chunks);
    const end = all.lastIndexOf(0x0a);
    if (end < 0) {
      this.partial = all;
      return 0;
    }
    this.partial = Buffer.from(all.subarray(end + 1));
    const lines = all.subarray(0, end).toString('utf8').split('\n');
    this.onLines(lines);
    return lines.length;
  }
}

/**
 * The size of `file` up to its last newline; a trailing line cut short (its writer was killed
 * mid-line) is cut off the file, so the next writer starts on a line of its own. Returns the
 * removed text ('' when there was none).
 */
export function trimPartialLine(file: string): { size: number; removed: string } {
  let text: Buffer;
  try {
    text = fs.readFileSync(file);
  } catch {
    return { size: 0, removed: '' };
  }
  const end = text.lastIndexOf(0x0a) + 1;
  if (end === text.length) return { size: end, removed: '' };
  fs.truncateSync(file, end);
  return { size: end, removed: text.subarray(end).toString('utf8') };
}
