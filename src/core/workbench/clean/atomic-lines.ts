// A JSONL output written beside its final name and renamed into place only when the whole
// pipeline succeeded: a cancelled or failed run leaves the previous outputs as they were, and a
// reader never sees half a file. Lines are buffered into large writes.
import * as fs from 'node:fs';

const FLUSH_CHARS = 1 << 20;

export class AtomicLines {
  readonly partial: string;
  private fd: number | undefined;
  private buffer: string[] = [];
  private chars = 0;
  lines = 0;

  constructor(readonly file: string) {
    this.partial = `${file}.partial-${process.pid}`;
    this.fd = fs.openSync(this.partial, 'w');
  }

  write(line: string): void {
    this.buffer.push(line);
    this.chars += line.length + 1;
    this.lines++;
    if (this.chars >= FLUSH_CHARS) this.flush();
  }

  private flush(): void {
    if (this.buffer.length === 0 || this.fd === undefined) return;
    fs.writeSync(this.fd, this.buffer.join('\n') + '\n');
    this.buffer = [];
    this.chars = 0;
  }

  /** Ends writing; the partial file stays until commit() or abort(). */
  close(): void {
    this.flush();
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  commit(): void {
    this.close();
    fs.renameSync(this.partial, this.file);
  }

  abort(): void {
    this.buffer = [];
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
    fs.rmSync(this.partial, { force: true });
  }
}
