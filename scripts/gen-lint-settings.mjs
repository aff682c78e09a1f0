// Writes the parts of package.json's settings that are derived from the linter's catalogues:
// one `tuner.lint.rules` property per rule in src/core/dataset/rules.ts and the format choices
// of `tuner.dataset.format` from src/core/dataset/formats.ts. Run after adding a rule or a
// format (`npm run gen:settings`); test/unit/manifest.test.ts fails until the two agree.
import { build } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { moveTexts } from './nls-manifest.mjs';

const root = path.resolve(import.meta.dirname, '..');

async function load(entry) {
  const out = await build({ entryPoints: [path.join(root, entry)], bundle: true, write: false, format: 'cjs', platform: 'node' });
  const module = { exports: {} };
  new Function('module', 'exports', 'require', out.outputFiles[0].text)(module, module.exports, createRequire(import.meta.url));
  return module.exports;
}

const { RULES } = await load('src/core/dataset/rules.ts');
const { FORMATS } = await load('src/core/dataset/formats.ts');
const SEVERITIES = ['error', 'warning', 'info', 'hint', 'off'];

const pkgPath = path.join(root, 'package.json');
const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
const props = pkg.contributes?.configuration?.properties;
if (!props?.['tuner.lint.rules'] || !props?.['tuner.dataset.format']) {
  throw new Error('package.json: contributes.configuration.properties must already declare tuner.lint.rules and tuner.dataset.format');
}

props['tuner.lint.rules'].properties = Object.fromEntries(RULES.map((r) => [r.id, {
  type: 'string',
  enum: SEVERITIES,
  default: r.defaultSeverity,
  markdownDescription: `\`${r.code}\` ${r.title}: ${r.description}`,
}]));
props['tuner.dataset.format'].enum = ['auto', ...FORMATS.map((f) => f.id)];
props['tuner.dataset.format'].enumDescriptions = ['Detect the format from the records', ...FORMATS.map((f) => `${f.label}, e.g. ${f.example}`)];

// The descriptions are texts for the user: into package.nls.json, as every other one.
const nlsPath = path.join(root, 'package.nls.json');
const nls = JSON.parse(readFileSync(nlsPath, 'utf8'));
moveTexts(pkg, nls);
writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
writeFileSync(nlsPath, `${JSON.stringify(nls, null, 2)}\n`);
console.log(`package.json: ${RULES.length} lint rules, ${FORMATS.length} formats`);
