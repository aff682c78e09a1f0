// A small YAML writer for the hand-off configs (Axolotl, LLaMA-Factory): block mappings and
// sequences of plain values. Every string is written double-quoted with JSON's escapes, which
// YAML 1.2 reads as the same string, so no value can turn into another type ("no", "1e3", "~")
// or break the layout (":" or "#" inside). Keys are the tools' own identifiers, written plain.
export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

const PLAIN_KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

function scalar(v: string | number | boolean | null): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`YAML: ${v} is not a finite number`);
    return String(v);
  }
  return v ? 'true' : 'false';
}

function key(k: string): string {
  return PLAIN_KEY.test(k) ? k : JSON.stringify(k);
}

function isBlock(v: YamlValue): v is YamlValue[] | { [key: string]: YamlValue | undefined } {
  return v !== null && typeof v === 'object' && (Array.isArray(v) ? v.length > 0 : Object.values(v).some((x) => x !== undefined));
}

function emptyCollection(v: YamlValue): string {
  return Array.isArray(v) ? '[]' : '{}';
}

function lines(v: YamlValue, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isBlock(item)) {
        const inner: string[] = [];
        lines(item, indent + '  ', inner);
        // The first line of the item's block goes after "- ".
        out.push(`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1));
      } else out.push(`${indent}- ${item !== null && typeof item === 'object' ? emptyCollection(item) : scalar(item)}`);
    }
    return;
  }
  if (v !== null && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (x === undefined) continue;
      if (isBlock(x)) {
        out.push(`${indent}${key(k)}:`);
        lines(x, indent + '  ', out);
      } else out.push(`${indent}${key(k)}: ${x !== null && typeof x === 'object' ? emptyCollection(x) : scalar(x)}`);
    }
    return;
  }
  out.push(indent + scalar(v));
}

/** The YAML text of a mapping, with `comments` as leading "# " lines. */
export function toYaml(doc: { [key: string]: YamlValue | undefined }, comments: readonly string[] = []): string {
  const out = comments.map((c) => (c ? `# ${c}` : '#'));
  lines(doc, '', out);
  return out.join('\n') + '\n';
}
