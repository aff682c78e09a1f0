// Moves the manifest's user-facing texts into package.nls.json, so VS Code shows them in the
// display language (package.nls.<locale>.json beside it) and package.json holds only "%key%"s.
// Which fields are texts is listed below (command titles, view names, settings descriptions,
// the walkthrough, the runs view's welcome, the debugger's attributes); keys are made from where
// the text sits, so running it again changes nothing. `npm run gen:nls` after adding a command,
// setting or step; test/unit/l10n.test.ts fails while a text is left in package.json.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');

/** [key, read, write] for every user-facing text of the manifest. */
function texts(pkg) {
  const out = [];
  const at = (key, obj, field) => { if (obj && typeof obj[field] === 'string') out.push([key, () => obj[field], (v) => { obj[field] = v; }]); };
  const arr = (key, obj, field) => (obj?.[field] ?? []).forEach((_, i) => at(`${key}.${i}`, obj[field], i));
  const c = pkg.contributes;
  for (const cmd of c.commands ?? []) at(`command.${cmd.command.replace(/^tuner\./, '')}`, cmd, 'title');
  for (const views of Object.values(c.views ?? {})) for (const v of views) at(`views.${v.id.replace(/^tuner\./, '')}.name`, v, 'name');
  (c.viewsWelcome ?? []).forEach((w, i) => at(`viewsWelcome.${w.view.replace(/^tuner\./, '')}.${i}`, w, 'contents'));
  const setting = (key, s) => {
    for (const f of ['description', 'markdownDescription', 'deprecationMessage', 'markdownDeprecationMessage']) at(`${key}.${f}`, s, f);
    for (const f of ['enumDescriptions', 'markdownEnumDescriptions']) arr(`${key}.${f}`, s, f);
    for (const [sub, spec] of Object.entries(s.properties ?? {})) setting(`${key}.${sub}`, spec);
  };
  const configs = Array.isArray(c.configuration) ? c.configuration : [c.configuration];
  for (const cfg of configs) for (const [key, s] of Object.entries(cfg?.properties ?? {})) setting(`config.${key.replace(/^tuner\./, '')}`, s);
  for (const w of c.walkthroughs ?? []) {
    const k = `walkthrough.${w.id.replace(/^tuner\./, '')}`;
    at(`${k}.title`, w, 'title');
    at(`${k}.description`, w, 'description');
    for (const s of w.steps ?? []) {
      at(`${k}.${s.id}.title`, s, 'title');
      at(`${k}.${s.id}.description`, s, 'description');
      at(`${k}.${s.id}.altText`, s.media, 'altText');
    }
  }
  for (const d of c.debuggers ?? []) {
    const k = `debugger.${d.type}`;
    at(`${k}.label`, d, 'label');
    for (const [request, attrs] of Object.entries(d.configurationAttributes ?? {})) {
      for (const [name, spec] of Object.entries(attrs.properties ?? {})) at(`${k}.${request}.${name}.description`, spec, 'description');
    }
    (d.configurationSnippets ?? []).forEach((s, i) => { at(`${k}.snippet.${i}.label`, s, 'label'); at(`${k}.snippet.${i}.description`, s, 'description'); });
  }
  return out;
}

/** Moves every literal text into `nls` (keeps texts already there); returns the keys moved. */
export function moveTexts(pkg, nls) {
  const moved = [];
  for (const [key, read, write] of texts(pkg)) {
    const value = read();
    if (/^%[\w.-]+%$/.test(value)) continue;
    nls[key] = value;
    write(`%${key}%`);
    moved.push(key);
  }
  return moved;
}

/** The texts still written in package.json itself (what moveTexts would move). */
export function literalTexts(pkg) {
  return texts(pkg).filter(([, read]) => !/^%[\w.-]+%$/.test(read())).map(([key]) => key);
}

if (process.argv[1] === import.meta.filename) {
  const pkgPath = path.join(root, 'package.json');
  const nlsPath = path.join(root, 'package.nls.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8'));
  const nls = JSON.parse(readFileSync(nlsPath, 'utf8'));
  const moved = moveTexts(pkg, nls);
  writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  writeFileSync(nlsPath, `${JSON.stringify(nls, null, 2)}\n`);
  console.log(`package.nls.json: ${moved.length} texts moved from package.json, ${Object.keys(nls).length} in all`);
}
