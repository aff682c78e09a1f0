// Finds the user-facing text of TypeScript sources that is not yet passed through l10n.t, and
// (with --write) wraps it: 'Text' → l10n.t('Text'), `Row ${n} of ${m}` or 'Row ' + n →
// l10n.t('Row {0} of {1}', n, m). test/unit/l10n.test.ts uses proseLiterals() to keep the
// converted files free of unwrapped text; scripts/l10n-not-user-facing.json lists the prose
// that is not for the user (prompts sent to a model, log lines, protocol values).
//
//   node scripts/l10n-literals.mjs [--write] <file.ts>...
import ts from 'typescript';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Text that reads as prose: two words of letters with a space between them. */
export const isProse = (text) => /[A-Za-z]{2,}[^\n]*? [^\n]*?[A-Za-z]{2,}/.test(text) && /[a-z]/.test(text);
/** A template with arguments reads as text with one word too when it is a capitalised word: `Remove "${key}"`. */
const isProseTemplate = (node) => ts.isTemplateExpression(node) && /(^|[^\w.$-])[A-Z][a-z]{2,}(?![\w.(-])/.test(staticText(node));

const STRING_METHODS = new Set(['includes', 'startsWith', 'endsWith', 'indexOf', 'lastIndexOf', 'split', 'replace', 'replaceAll', 'match', 'search', 'has', 'get', 'set', 'delete', 'getElementById', 'querySelector', 'querySelectorAll', 'setAttribute', 'getAttribute', 'addEventListener', 'postMessage']);
const LOG_CALLS = new Set(['logLine', 'log', 'debug', 'trace', 'warn', 'info', 'appendLine', 'append', 'logLine']);
const DATA_KEYS = new Set(['className', 'id', 'type', 'role', 'rel', 'href', 'src', 'lang', 'filter', 'kind', 'code', 'command']);
const COMPARISON = new Set([ts.SyntaxKind.EqualsEqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsEqualsToken, ts.SyntaxKind.EqualsEqualsToken, ts.SyntaxKind.ExclamationEqualsToken]);

const calleeName = (call) => (ts.isPropertyAccessExpression(call.expression) ? call.expression.name.text : ts.isIdentifier(call.expression) ? call.expression.text : '');
const isL10nCall = (node) =>
  ts.isCallExpression(node) &&
  ts.isPropertyAccessExpression(node.expression) &&
  node.expression.name.text === 't' &&
  /(^|\.)l10n$/.test(node.expression.expression.getText());

/** Whether a string literal in this position is data rather than text for the user. */
function isDataPosition(node) {
  const p = node.parent;
  if (!p) return true;
  if (ts.isImportDeclaration(p) || ts.isExportDeclaration(p) || ts.isExternalModuleReference(p) || ts.isLiteralTypeNode(p)) return true;
  if ((ts.isPropertyAssignment(p) || ts.isPropertyDeclaration(p) || ts.isMethodDeclaration(p) || ts.isEnumMember(p)) && p.name === node) return true;
  if (ts.isElementAccessExpression(p) && p.argumentExpression === node) return true;
  if (ts.isCaseClause(p)) return true;
  // CSS classes, element ids and other attributes that name rather than say
  if (ts.isPropertyAssignment(p) && p.initializer === node && DATA_KEYS.has(p.name.getText())) return true;
  if (ts.isBinaryExpression(p) && p.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isPropertyAccessExpression(p.left) && DATA_KEYS.has(p.left.name.text)) return true;
  if (ts.isBinaryExpression(p) && COMPARISON.has(p.operatorToken.kind)) return true;
  if (ts.isTaggedTemplateExpression(p)) return true;
  if (ts.isCallExpression(p) || ts.isNewExpression(p)) {
    const name = ts.isNewExpression(p) ? (ts.isIdentifier(p.expression) ? p.expression.text : '') : calleeName(p);
    if (name === 'require' || name === 'RegExp' || STRING_METHODS.has(name)) return true;
    if (p.expression.kind === ts.SyntaxKind.ImportKeyword) return true;
  }
  return false;
}

/** Inside a call that only logs (console.*, output channels, a logger). */
function inLogCall(node) {
  for (let n = node.parent; n && !ts.isSourceFile(n); n = n.parent) {
    if (ts.isCallExpression(n) && LOG_CALLS.has(calleeName(n))) {
      const obj = ts.isPropertyAccessExpression(n.expression) ? n.expression.expression.getText() : '';
      if (obj === 'console' || /log|output|channel|host/i.test(obj) || ts.isIdentifier(n.expression)) return true;
    }
    if (ts.isFunctionLike(n)) return false;
  }
  return false;
}

function insideL10n(node) {
  for (let n = node.parent; n && !ts.isSourceFile(n); n = n.parent) if (isL10nCall(n)) return true;
  return false;
}

/** The function (if any) the literal is evaluated in: text at module level is read before the bundle is set. */
function inFunction(node) {
  for (let n = node.parent; n && !ts.isSourceFile(n); n = n.parent) {
    if (ts.isFunctionLike(n) || ts.isClassStaticBlockDeclaration(n)) return true;
    if (ts.isPropertyDeclaration(n) && !n.modifiers?.some((m) => m.kind === ts.SyntaxKind.StaticKeyword)) return true;
  }
  return false;
}

const staticText = (node) =>
  ts.isTemplateExpression(node) ? [node.head.text, ...node.templateSpans.map((s) => s.literal.text)].join(' ') : node.text;

/** The string concatenation `node` is a leaf of ('a ' + x + ' b'), when it starts with text. */
function concatRoot(node) {
  let top = node;
  while (ts.isParenthesizedExpression(top.parent) || (ts.isBinaryExpression(top.parent) && top.parent.operatorToken.kind === ts.SyntaxKind.PlusToken)) top = top.parent;
  if (top === node) return undefined;
  const leaves = [];
  const walk = (n) => {
    if (ts.isBinaryExpression(n) && n.operatorToken.kind === ts.SyntaxKind.PlusToken) {
      walk(n.left);
      walk(n.right);
    } else leaves.push(n);
  };
  walk(top);
  const isText = (n) => ts.isStringLiteral(n) || ts.isNoSubstitutionTemplateLiteral(n) || ts.isTemplateExpression(n);
  if (leaves.length < 2) return undefined;
  // 'a' + 1 + 2 is 'a12' and x + 'a' is one text, but 1 + 2 + 'a' is '3a': such a chain is left alone
  if (!isText(leaves[0]) && !isText(leaves[1])) return undefined;
  return { top, leaves };
}

/** Prose literals of a file not passed through l10n.t: [{ node, text, line, topLevel }]. */
export function proseLiterals(file, source = fs.readFileSync(file, 'utf8')) {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found = [];
  const visit = (node) => {
    if (isL10nCall(node)) return;
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) && (isProse(staticText(node)) || isProseTemplate(node))) {
      if (!isDataPosition(node) && !inLogCall(node) && !insideL10n(node)) {
        found.push({ node, text: staticText(node), line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1, topLevel: !inFunction(node) });
      }
      if (ts.isTemplateExpression(node)) node.templateSpans.forEach((s) => visit(s.expression));
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { sf, found };
}

/** Prose that is not for the user, by file (relative to the repository). */
export function notUserFacing() {
  return JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts', 'l10n-not-user-facing.json'), 'utf8'));
}

const quote = (s) =>
  "'" +
  s.replace(/[\\'\n\r\t\u0000-\u001f\u2028\u2029]/g, (c) =>
    c === '\\' ? '\\\\' : c === "'" ? "\\'" : c === '\n' ? '\\n' : c === '\r' ? '\\r' : c === '\t' ? '\\t' : '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  ) +
  "'";

/** The l10n.t call for a literal or concatenation; undefined when its text holds braces and arguments. */
function l10nCall(parts, checker) {
  let message = '';
  const args = [];
  for (const part of parts) {
    if (ts.isStringLiteral(part) || ts.isNoSubstitutionTemplateLiteral(part)) message += part.text;
    else if (ts.isTemplateExpression(part)) {
      message += part.head.text;
      for (const span of part.templateSpans) {
        message += `{${args.length}}`;
        args.push(span.expression);
        message += span.literal.text;
      }
    } else {
      message += `{${args.length}}`;
      args.push(part);
    }
  }
  if (args.length && /[{}]/.test(message.replace(/\{\d+\}/g, ''))) return undefined;
  const argText = args.map((a) => {
    const text = a.getText();
    const type = checker?.getTypeAtLocation(a);
    const plain = type && !type.isUnion() ? type.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike) : type?.types?.every((t) => t.flags & (ts.TypeFlags.StringLike | ts.TypeFlags.NumberLike));
    // JSON.stringify(undefined) is undefined, which l10n.t would leave as {n}
    return plain && !/^JSON\.stringify\(/.test(text) ? text : `String(${text})`;
  });
  return `l10n.t(${[quote(message), ...argText].join(', ')})`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const write = process.argv.includes('--write');
  const files = process.argv.slice(2).filter((a) => !a.startsWith('--'));
  const skipAll = notUserFacing();
  if (write) {
    const program = ts.createProgram(files, { strict: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS, esModuleInterop: true, skipLibCheck: true, noEmit: true, types: ['node'] });
    const checker = program.getTypeChecker();
    let total = 0;
    for (const file of files) {
      const rel = path.relative(ROOT, path.resolve(file));
      // a fresh program per file would be slow: the checker answers for the program's own nodes,
      // so types are looked up on the program's source file of the same text
      const progSf = program.getSourceFile(path.resolve(file)) ?? program.getSourceFile(file);
      const r = rewriteWithProgram(progSf, checker, new Set(skipAll[rel] ?? []));
      total += r.converted;
      console.log(`${rel}: ${r.converted} converted`);
      for (const m of r.manual) console.log('  MANUAL ' + m);
    }
    console.log(`total ${total}`);
  } else {
    for (const file of files) {
      const rel = path.relative(ROOT, path.resolve(file));
      const skip = new Set(skipAll[rel] ?? []);
      for (const f of proseLiterals(file).found) if (!skip.has(f.text)) console.log(`${rel}:${f.line}${f.topLevel ? ' (top-level)' : ''}: ${f.text.slice(0, 120).replace(/\n/g, '\\n')}`);
    }
  }
}

/** rewrite() on the program's own source file, so the checker knows the argument types. */
function rewriteWithProgram(sf, checker, skip) {
  const file = sf.fileName;
  const source = sf.text;
  const found = [];
  const visit = (node) => {
    if (isL10nCall(node)) return;
    if ((ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)) && (isProse(staticText(node)) || isProseTemplate(node))) {
      if (!isDataPosition(node) && !inLogCall(node) && !insideL10n(node)) found.push({ node, text: staticText(node), line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1, topLevel: !inFunction(node) });
      if (ts.isTemplateExpression(node)) node.templateSpans.forEach((s) => visit(s.expression));
      return;
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const edits = [];
  const manual = [];
  const done = new Set();
  for (const f of found) {
    if (skip.has(f.text)) continue;
    const p = f.node.parent;
    if (f.topLevel) {
      // read when the module loads, before the bundle is set: a getter reads it when it is used
      if (ts.isPropertyAssignment(p) && p.initializer === f.node && ts.isObjectLiteralExpression(p.parent) && !ts.isTemplateExpression(f.node)) {
        edits.push({ start: p.getStart(sf), end: p.getEnd(), text: `get ${p.name.getText(sf)}() { return ${l10nCall([f.node], checker)}; }` });
      } else manual.push(`${file}:${f.line} top-level: ${f.text.slice(0, 80)}`);
      continue;
    }
    const chain = concatRoot(f.node);
    const target = chain ? chain.top : f.node;
    if (done.has(target)) continue;
    done.add(target);
    const call = l10nCall(chain ? chain.leaves : [f.node], checker);
    if (!call) {
      manual.push(`${file}:${f.line} braces: ${f.text.slice(0, 80)}`);
      continue;
    }
    edits.push({ start: target.getStart(sf), end: target.getEnd(), text: call });
  }
  edits.sort((a, b) => b.start - a.start);
  let out = source;
  let last = Infinity;
  for (const e of edits) {
    if (e.end > last) continue;
    out = out.slice(0, e.start) + e.text + out.slice(e.end);
    last = e.start;
  }
  if (edits.length && !/from '@vscode\/l10n'/.test(out)) {
    const imports = [...out.matchAll(/^import [^;]*;\n/gm)];
    const header = /^(\/\/[^\n]*\n)*\n?/.exec(out)[0].length;
    const at = imports.length ? imports[imports.length - 1].index + imports[imports.length - 1][0].length : header;
    out = out.slice(0, at) + "import * as l10n from '@vscode/l10n';\n" + out.slice(at);
  }
  if (out !== source) fs.writeFileSync(file, out);
  return { converted: edits.length, manual };
}
