// JSON files: a top-level array of records, or records nested under a path
// ({"data": {"rows": [...]}}), and JSON Lines. The JSON file is scanned byte by byte in chunks
// (strings, escapes, nesting) so that only one element of the chosen array is in memory at a
// time; each element is then parsed with JSON.parse. candidateArrays() lists the arrays a user
// can pick, with how many elements each holds.
import { createReadStream, statSync } from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import type { SourceRecord } from '../records';
import { ImportError, throwIfAborted, type ReadOptions } from './source';
import * as l10n from '@vscode/l10n';

/** A path of object keys from the root to an array; [] is a top-level array. */
export type JsonArrayPath = readonly string[];

/** "$", "$.data.rows", '$["a.b"]': how a path is shown. */
export function formatJsonPath(keys: JsonArrayPath): string {
  return '$' + keys.map((k) => (/^[A-Za-z_$][\w$]*$/.test(k) ? `.${k}` : `[${JSON.stringify(k)}]`)).join('');
}

export interface JsonArrayCandidate {
  path: JsonArrayPath;
  /** Elements in the array, and how many of them are objects (records). */
  elements: number;
  objects: number;
}

interface Frame {
  array: boolean;
  /** Keys from the root to this container; undefined below an array element (not addressable by keys). */
  keys: string[] | undefined;
  key?: string;
  expectKey: boolean;
  candidate?: JsonArrayCandidate;
  target: boolean;
}

const QUOTE = 0x22, BACKSLASH = 0x5c, LBRACE = 0x7b, RBRACE = 0x7d, LBRACKET = 0x5b, RBRACKET = 0x5d, COMMA = 0x2c, COLON = 0x3a;
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

/**
 * The structural scanner. With `target`, calls onElement with the bytes of each element of the
 * array at that path; with `candidates`, collects every key-addressable array.
 */
class JsonStructureScanner {
  private stack: Frame[] = [];
  private inString = false;
  private escape = false;
  private inBare = false;
  private keyParts: Buffer[] | undefined;
  private keyStart = -1;
  /** Bytes of the element being captured, across chunks. */
  private capture: Buffer[] | undefined;
  private captureStart = -1;
  private captureDepth = -1;
  private elementIndex = 0;
  offset = 0;
  line = 1;

  constructor(private readonly target: JsonArrayPath | undefined, private readonly onElement: (bytes: Buffer, index: number) => void, readonly candidates?: Map<string, JsonArrayCandidate>) {}

  private valueStart(pos: number): void {
    const top = this.stack[this.stack.length - 1];
    if (!top?.array) return;
    if (top.candidate) top.candidate.elements++;
    if (top.target && !this.capture) {
      this.capture = [];
      this.captureStart = pos;
      this.captureDepth = this.stack.length;
    }
  }

  private valueEnd(chunk: Buffer, endExclusive: number): void {
    if (!this.capture || this.stack.length !== this.captureDepth) return;
    this.capture.push(chunk.subarray(Math.max(0, this.captureStart), endExclusive));
    const bytes = this.capture.length === 1 ? this.capture[0] : Buffer.concat(this.capture);
    this.capture = undefined;
    this.onElement(bytes, this.elementIndex++);
  }

  private push(array: boolean): void {
    const parent = this.stack[this.stack.length - 1];
    const keys = !parent ? [] : !parent.array && parent.keys && parent.key !== undefined ? [...parent.keys, parent.key] : undefined;
    const frame: Frame = { array, keys, expectKey: !array, target: false };
    if (array && keys) {
      if (this.candidates) {
        const id = JSON.stringify(keys);
        frame.candidate = this.candidates.get(id) ?? { path: keys, elements: 0, objects: 0 };
        this.candidates.set(id, frame.candidate);
      }
      frame.target = this.target !== undefined && keys.length === this.target.length && keys.every((k, i) => k === this.target![i]);
    }
    if (!array && parent?.candidate) parent.candidate.objects++;
    this.stack.push(frame);
  }

  feed(chunk: Buffer): void {
    if (this.capture) this.captureStart = 0;
    if (this.keyParts) this.keyStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i];
      if (c === 0x0a) this.line++;
      if (this.inString) {
        if (this.escape) this.escape = false;
        else if (c === BACKSLASH) this.escape = true;
        else if (c === QUOTE) {
          this.inString = false;
          if (this.keyParts) {
            this.keyParts.push(chunk.subarray(this.keyStart, i + 1));
            const top = this.stack[this.stack.length - 1];
            top.key = JSON.parse(Buffer.concat(this.keyParts).toString('utf8')) as string;
            this.keyParts = undefined;
          } else this.valueEnd(chunk, i + 1);
        }
        continue;
      }
      if (this.inBare) {
        if (c === COMMA || c === RBRACE || c === RBRACKET || isSpace(c)) {
          this.inBare = false;
          this.valueEnd(chunk, i);
        } else continue;
      }
      if (isSpace(c)) continue;
      const top = this.stack[this.stack.length - 1];
      switch (c) {
        case QUOTE:
          this.inString = true;
          if (top && !top.array && top.expectKey) {
            this.keyParts = [];
            this.keyStart = i;
          } else this.valueStart(i);
          break;
        case LBRACE:
        case LBRACKET:
          this.valueStart(i);
          this.push(c === LBRACKET);
          break;
        case RBRACE:
        case RBRACKET:
          if (!top || top.array !== (c === RBRACKET)) throw new SyntaxError(`unexpected "${String.fromCharCode(c)}"`);
          this.stack.pop();
          this.valueEnd(chunk, i + 1);
          break;
        case COLON:
          if (top && !top.array) top.expectKey = false;
          break;
        case COMMA:
          if (top && !top.array) top.expectKey = true;
          break;
        default:
          this.valueStart(i);
          this.inBare = true;
      }
    }
    if (this.capture) this.capture.push(chunk.subarray(Math.max(0, this.captureStart)));
    if (this.keyParts) this.keyParts.push(chunk.subarray(this.keyStart));
    this.offset += chunk.length;
  }

  finish(): void {
    if (this.inString || this.stack.length > 0) throw new SyntaxError(l10n.t('the file ends before the JSON does (a closing bracket or quote is missing)'));
  }
}

function jsonFailure(name: string, scanner: JsonStructureScanner, e: unknown): ImportError {
  return new ImportError(l10n.t('{0} line {1}: not valid JSON: {2}', name, scanner.line, (e as Error).message));
}

/** Every array reachable from the root through object keys, with its element counts, in file order. */
export async function candidateArrays(file: string, signal?: AbortSignal): Promise<JsonArrayCandidate[]> {
  const candidates = new Map<string, JsonArrayCandidate>();
  const scanner = new JsonStructureScanner(undefined, () => undefined, candidates);
  const name = path.basename(file);
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    throwIfAborted(signal);
    try { scanner.feed(chunk as Buffer); } catch (e) { throw jsonFailure(name, scanner, e); }
  }
  try { scanner.finish(); } catch (e) { throw jsonFailure(name, scanner, e); }
  return [...candidates.values()];
}

/** The records of the array at `arrayPath`; an element that is not an object is set aside. */
export async function* readJsonArray(file: string, arrayPath: JsonArrayPath, options: ReadOptions): AsyncGenerator<SourceRecord, void, undefined> {
  const name = path.basename(file);
  const size = statSync(file).size || 1;
  const ready: SourceRecord[] = [];
  let found = false;
  const scanner = new JsonStructureScanner(arrayPath, (bytes, index) => {
    found = true;
    const row = index + 1;
    const value = JSON.parse(bytes.toString('utf8')) as unknown;
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) ready.push({ file: name, row, value: value as Record<string, unknown> });
    else options.onSkip({ file: name, row, reason: l10n.t('{0} record {1} of {2}: {3}, not an object with fields', name, row, formatJsonPath(arrayPath), Array.isArray(value) ? l10n.t('an array') : value === null ? 'null' : l10n.t('a {0}', typeof value)), value });
  });
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    throwIfAborted(options.signal);
    try { scanner.feed(chunk as Buffer); } catch (e) { throw jsonFailure(name, scanner, e); }
    while (ready.length) yield ready.shift()!;
    options.onProgress?.(scanner.offset / size);
  }
  try { scanner.finish(); } catch (e) { throw jsonFailure(name, scanner, e); }
  if (!found) throw new ImportError(l10n.t('{0}: no array at {1}; pick one of the arrays the file has (Tuner: Import Dataset… lists them)', name, formatJsonPath(arrayPath)));
}

/** JSON Lines: one record per line; a line that is not a JSON object is set aside with its line number. */
export async function* readJsonl(file: string, options: ReadOptions): AsyncGenerator<SourceRecord, void, undefined> {
  const name = path.basename(file);
  const size = statSync(file).size || 1;
  const stream = createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 });
  const lines = readline.createInterface({ input: stream, crlfDelay: Infinity });
  let row = 0;
  try {
    for await (const raw of lines) {
      row++;
      throwIfAborted(options.signal);
      const text = row === 1 ? raw.replace(/^\uFEFF/, '') : raw;
      if (text.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        options.onSkip({ file: name, row, reason: l10n.t('{0} line {1}: not valid JSON ({2}); fix the line and import again', name, row, (e as Error).message), value: text });
        continue;
      }
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) yield { file: name, row, value: value as Record<string, unknown> };
      else options.onSkip({ file: name, row, reason: l10n.t('{0} line {1}: not a JSON object', name, row), value });
      if (row % 1024 === 0) options.onProgress?.(stream.bytesRead / size);
    }
  } finally {
    lines.close();
    stream.destroy();
  }
}
