import * as l10n from '@vscode/l10n';
// A small JSON scanner for the failure path only: JSON.parse says *that* a line is broken, this
// says *where* and *why* in words a user can act on, and finds the text range of a field so a
// diagnostic can underline exactly it. Valid lines never come through here unless they have a
// problem to point at, so its speed does not matter for the linter's throughput.
//
// Where it stops is where V8's JSON.parse stops (the position its messages give): at the
// closing brace after a trailing comma, at the end of the line for a cut-off string, at the
// first character a literal, number or escape cannot continue with; offsets are UTF-16 units,
// as in JavaScript strings. test/unit/dataset/json-columns.test.ts checks this as a property.

export type JsonPath = readonly (string | number)[];

export interface JsonSyntaxError {
  /** UTF-16 offset of the first character the parser could not accept (the length: the line ends too early). */
  pos: number;
  /** Offset just past the offending text (at least pos + 1 unless at the end). */
  end: number;
  message: string;
  kind: 'truncated' | 'trailing-comma' | 'smart-quotes' | 'single-quotes' | 'other';
}

export interface Located {
  /** Range of the value. */
  start: number;
  end: number;
  /** Range of the property name (with its quotes) when the path ends at an object member. */
  keyStart?: number;
  keyEnd?: number;
}

class ScanError extends Error {
  constructor(readonly info: JsonSyntaxError) {
    super(info.message);
  }
}

const SMART_QUOTES = '\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb';
/** Deeper nesting is not followed (the scanner recurses; JSON.parse does not): the error is reported where it starts. */
export const MAX_SCAN_DEPTH = 2000;

class Scanner {
  i = 0;
  found?: Located;

  constructor(private readonly s: string, private readonly target?: JsonPath) {}

  private fail(message: string, kind: JsonSyntaxError['kind'] = 'other', pos = this.i, end?: number): never {
    const e = end ?? Math.min(this.s.length, pos + 1);
    throw new ScanError({ pos, end: Math.max(e, pos), message, kind });
  }

  private ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 32 || c === 9 || c === 10 || c === 13) this.i++;
      else break;
    }
  }

  private truncated(what: string): never {
    this.fail(l10n.t('The line ends inside {0}: the record looks cut off, missing a closing quote, {1} or {2}.', what, "'}'", "']'"), 'truncated', this.s.length);
  }

  document(): void {
    this.ws();
    if (this.i >= this.s.length) this.fail(l10n.t('Empty line: expected a JSON object.'));
    this.value(0, this.target !== undefined && this.target.length >= 0);
    this.ws();
    if (this.i < this.s.length) {
      const c = this.s[this.i];
      if (c === '{') this.fail(l10n.t('A second record starts on the same line: put each JSON object on its own line.'), 'other', this.i, this.s.length);
      if (c === ',') this.fail(l10n.t('Unexpected comma after the record: JSON lines have no separators between records.'), 'trailing-comma');
      this.fail(l10n.t('Unexpected text after the end of the record.'), 'other', this.i, this.s.length);
    }
  }

  private value(depth: number, onPath: boolean): void {
    const start = this.i;
    const s = this.s;
    if (this.i >= s.length) this.truncated(l10n.t('the record'));
    const c = s[this.i];
    if ((c === '{' || c === '[') && depth >= MAX_SCAN_DEPTH) this.fail(l10n.t('Nesting deeper than {0} levels: records are flat objects of text and turns.', MAX_SCAN_DEPTH), 'other', this.i, this.i + 1);
    if (c === '{') this.object(depth, onPath);
    else if (c === '[') this.array(depth, onPath);
    else if (c === '"') this.string();
    else if (c === '-' || (c >= '0' && c <= '9')) this.number();
    else if (c === 't' || c === 'f' || c === 'n') this.literal(c === 't' ? 'true' : c === 'f' ? 'false' : 'null');
    else this.badValueStart(c);
    if (onPath && this.target && depth === this.target.length && !this.found) this.found = { start, end: this.i };
  }

  /** true / false / null; like JSON.parse, a misspelling fails at its first wrong character. */
  private literal(word: string): void {
    const s = this.s;
    const start = this.i;
    for (let k = 0; k < word.length; k++) {
      if (start + k >= s.length) this.truncated(l10n.t('the record'));
      if (s[start + k] !== word[k]) {
        const typed = /^[A-Za-z_]\w*/.exec(s.slice(start, start + 40))?.[0] ?? word.slice(0, k);
        this.fail(l10n.t('\'{0}\' is not a JSON value (use true, false, null, a number or text in double quotes).', typed), 'other', start + k, Math.max(start + k + 1, start + typed.length));
      }
    }
    this.i = start + word.length;
  }

  private badValueStart(c: string): never {
    if (SMART_QUOTES.includes(c)) this.fail(l10n.t('Typographic quote: JSON strings need straight double quotes (").'), 'smart-quotes');
    if (c === "'") this.fail(l10n.t('Single quotes are not JSON: use double quotes (").'), 'single-quotes');
    if (c === '}' || c === ']') this.fail(l10n.t('Expected a value before \'{0}\'.', c));
    if (c === ',') this.fail(l10n.t('Expected a value before \',\'.'));
    const word = /^[A-Za-z_]\w*/.exec(this.s.slice(this.i, this.i + 40));
    if (word) {
      const w = word[0];
      if (w === 'NaN' || w === 'Infinity' || w === 'undefined' || w === 'True' || w === 'False' || w === 'None') {
        this.fail(l10n.t('\'{0}\' is not a JSON value (use null, true, false or a number).', w), 'other', this.i, this.i + w.length);
      }
      this.fail(l10n.t('Unexpected \'{0}\': text values need double quotes.', w), 'other', this.i, this.i + w.length);
    }
    this.fail(l10n.t('Unexpected character \'{0}\' where a value was expected.', c));
  }

  private object(depth: number, onPath: boolean): void {
    const s = this.s;
    this.i++; // {
    this.ws();
    if (s[this.i] === '}') { this.i++; return; }
    for (;;) {
      this.ws();
      if (this.i >= s.length) this.truncated(l10n.t('an object'));
      const c = s[this.i];
      if (c !== '"') {
        if (c === '}') this.fail(l10n.t('Trailing comma before \'}\'.'), 'trailing-comma');
        if (SMART_QUOTES.includes(c)) this.fail(l10n.t('Typographic quote: property names need straight double quotes (").'), 'smart-quotes');
        if (c === "'") this.fail(l10n.t('Single quotes are not JSON: put property names in double quotes (").'), 'single-quotes');
        this.fail(l10n.t('Expected a property name in double quotes.'));
      }
      const keyStart = this.i;
      const key = this.string();
      const keyEnd = this.i;
      this.ws();
      if (this.i >= s.length) this.truncated(l10n.t('an object'));
      if (s[this.i] !== ':') this.fail(l10n.t('Expected \':\' after the property name {0}.', s.slice(keyStart, keyEnd)));
      this.i++;
      this.ws();
      const childOnPath = onPath && !!this.target && depth < this.target.length && this.target[depth] === key;
      const valueStart = this.i;
      this.value(depth + 1, childOnPath);
      if (childOnPath && this.target && depth + 1 === this.target.length && this.found && this.found.start === valueStart) {
        this.found.keyStart = keyStart;
        this.found.keyEnd = keyEnd;
      }
      this.ws();
      if (this.i >= s.length) this.truncated(l10n.t('an object'));
      const d = s[this.i];
      if (d === ',') { this.i++; continue; }
      if (d === '}') { this.i++; return; }
      if (d === '"') this.fail(l10n.t('Missing \',\' between properties.'));
      this.fail(l10n.t('Expected \',\' or \'}\' after the property value.'));
    }
  }

  private array(depth: number, onPath: boolean): void {
    const s = this.s;
    this.i++; // [
    this.ws();
    if (s[this.i] === ']') { this.i++; return; }
    for (let index = 0; ; index++) {
      this.ws();
      if (this.i >= s.length) this.truncated(l10n.t('an array'));
      if (s[this.i] === ']') this.fail(l10n.t('Trailing comma before \']\'.'), 'trailing-comma');
      const childOnPath = onPath && !!this.target && depth < this.target.length && this.target[depth] === index;
      this.value(depth + 1, childOnPath);
      this.ws();
      if (this.i >= s.length) this.truncated(l10n.t('an array'));
      const d = s[this.i];
      if (d === ',') { this.i++; continue; }
      if (d === ']') { this.i++; return; }
      this.fail(l10n.t('Expected \',\' or \']\' after the array element.'));
    }
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    this.i++; // "
    let plain = true;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c === 34) {
        this.i++;
        return plain ? s.slice(start + 1, this.i - 1) : (JSON.parse(s.slice(start, this.i)) as string);
      }
      if (c === 92) {
        plain = false;
        const e = s[this.i + 1];
        if (e === undefined) break;
        if (e === 'u') {
          let k = 0;
          while (k < 4 && /[0-9a-fA-F]/.test(s[this.i + 2 + k] ?? '')) k++;
          if (k < 4) this.fail(l10n.t('Bad \\u escape: expected four hex digits.'), 'other', Math.min(s.length, this.i + 2 + k), this.i + 6);
          this.i += 6;
          continue;
        }
        if (!'"\\/bfnrt'.includes(e)) this.fail(l10n.t('Invalid escape \'\\{0}\': a literal backslash is written \\\\.', e), 'other', this.i + 1, this.i + 2);
        this.i += 2;
        continue;
      }
      if (c < 32) {
        const name = c === 9 ? l10n.t('tab (write \\t)') : c === 10 ? l10n.t('line break (write \\n)') : c === 13 ? l10n.t('carriage return (write \\r)') : l10n.t('control character U+{0}', c.toString(16).padStart(4, '0'));
        this.fail(l10n.t('Unescaped {0} inside a string.', name));
      }
      this.i++;
    }
    this.fail(l10n.t('Unterminated string: the line ends before the closing quote, so the record looks cut off.'), 'truncated', s.length, s.length);
  }

  /** A JSON number; like JSON.parse, it fails at the first character that cannot continue it. */
  private number(): void {
    const s = this.s;
    const digits = (): number => {
      const from = this.i;
      while (this.i < s.length && s.charCodeAt(this.i) >= 48 && s.charCodeAt(this.i) <= 57) this.i++;
      return this.i - from;
    };
    if (s[this.i] === '-') {
      this.i++;
      if (this.i >= s.length) this.truncated('a number');
      if (!/[0-9]/.test(s[this.i])) this.fail(l10n.t('No digits after the minus sign.'));
    }
    if (s[this.i] === '0') {
      this.i++;
      if (/[0-9]/.test(s[this.i] ?? '')) this.fail(l10n.t('Invalid number: leading zeros are not allowed.'));
    } else {
      digits();
    }
    if (s[this.i] === '.') {
      this.i++;
      if (this.i >= s.length) this.truncated('a number');
      if (digits() === 0) this.fail(l10n.t('Invalid number: a "." must be followed by digits.'));
    }
    if (s[this.i] === 'e' || s[this.i] === 'E') {
      this.i++;
      if (s[this.i] === '+' || s[this.i] === '-') this.i++;
      if (this.i >= s.length) this.truncated('a number');
      if (digits() === 0) this.fail(l10n.t('Invalid number: the exponent has no digits.'));
    }
    const next = s[this.i];
    if (next !== undefined && /[0-9A-Za-z.]/.test(next)) this.fail(l10n.t('Invalid number: letters or a second "." after it.'));
  }
}

/** Why a line is not valid JSON, or undefined if it is. */
export function findJsonError(text: string): JsonSyntaxError | undefined {
  try {
    new Scanner(text).document();
    return undefined;
  } catch (e) {
    if (e instanceof ScanError) return e.info;
    throw e;
  }
}

/** The range of the value (and key) at `path` in a valid JSON text, or undefined if absent. */
export function locate(text: string, path: JsonPath): Located | undefined {
  const sc = new Scanner(text, path);
  try {
    sc.document();
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
  }
  return sc.found;
}
