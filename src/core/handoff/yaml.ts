// The hand-off configs (Axolotl, LLaMA-Factory) as YAML, written by the `yaml` library: it quotes
// every string that YAML would otherwise read as another type ("no", "1e3", "~") or that would
// break the layout (":" or "#" inside). The tests read the files back with js-yaml, another
// reader, as the tools' own loaders would.
import * as l10n from '@vscode/l10n';
import { stringify } from 'yaml';

export type YamlValue = string | number | boolean | null | YamlValue[] | { [key: string]: YamlValue | undefined };

/** The YAML text of a mapping, with `comments` as leading "# " lines. */
export function toYaml(doc: { [key: string]: YamlValue | undefined }, comments: readonly string[] = []): string {
  for (const [k, v] of Object.entries(doc)) if (typeof v === 'number' && !Number.isFinite(v)) throw new Error(l10n.t('YAML: {0} is {1}, not a finite number', k, String(v)));
  const header = comments.map((c) => (c ? `# ${c}\n` : '#\n')).join('');
  // The tools read YAML with PyYAML, which follows YAML 1.1 ("no", "on", "y" are booleans there).
  return header + stringify(doc, { version: '1.1', lineWidth: 0 });
}
