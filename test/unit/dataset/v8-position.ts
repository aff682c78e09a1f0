// The oracle for syntax-error columns: where V8's JSON.parse stops on a line. Node 20's
// messages give it as "at position N" for most errors, say "Unexpected end of JSON input" at
// the end, and give only the token for "Unexpected token 'x', "…" is not valid JSON"; for
// those the position is found from prefixes: parsing stops at the same character in every
// prefix that contains it, and in none shorter.

/** The UTF-16 offset where JSON.parse rejects `text`, or -1 if it parses. */
export function v8Position(text: string): number {
  const first = parseError(text);
  if (first === undefined) return -1;
  const direct = positionIn(first, text.length);
  if (direct !== undefined) return direct;
  for (let p = 1; p <= text.length; p++) {
    const msg = parseError(text.slice(0, p));
    if (msg === undefined) continue;
    const at = positionIn(msg, p);
    if (at !== undefined && at < p) return at;
    if (at === undefined) {
      // The first failing prefix ends at the token (one UTF-16 unit: a pair's first half fails alone).
      const token = /^Unexpected token '([\s\S]*?)', /.exec(msg);
      if (!token || token[1] !== text[p - 1]) throw new Error(`unexpected V8 message for ${JSON.stringify(text.slice(0, p))}: ${msg}`);
      return p - 1;
    }
  }
  throw new Error(`no prefix of ${JSON.stringify(text)} fails before its end: ${first}`);
}

function parseError(text: string): string | undefined {
  try {
    JSON.parse(text);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** The position a message states (the end for "Unexpected end"), or undefined when it gives only the token. */
function positionIn(msg: string, length: number): number | undefined {
  const m = / at position (\d+)/.exec(msg);
  if (m) return Number(m[1]);
  if (msg.startsWith('Unexpected end of JSON input')) return length;
  return undefined;
}
