// Where a diagnostic's code links to: the rule's section of docs/lint-rules.md, shipped in the
// .vsix. Section headings are "## TUN101 invalid-json", whose Markdown anchor is
// "tun101-invalid-json". No `vscode` import: test/unit/manifest.test.ts checks every anchor.
import { ruleByCode } from '../core/dataset/rules';

export const RULE_DOCS_PATH = 'docs/lint-rules.md';

export function ruleDocsAnchor(code: string): string {
  const rule = ruleByCode(code);
  return (rule ? `${rule.code}-${rule.id}` : code).toLowerCase();
}
