// Hover on ARGS.json: a key shows what it means, its allowed values and default (from the
// field table); the "model" key shows the memory estimate term by term and the time per epoch.
import { getLocation } from 'jsonc-parser';
import * as vscode from 'vscode';
import { formatBytes, formatDuration } from '../core/args/estimate';
import { fieldDef, isArgsFieldName } from '../core/args/fields';
import { lmtunerKey } from '../core/args/lmtuner';
import type { Preflight } from '../core/args/preflight';
import type { ArgsDiagnostics } from './args-diagnostics';

export function estimateMarkdown(pf: Preflight): vscode.MarkdownString {
  const md = new vscode.MarkdownString();
  md.appendMarkdown(`**Pre-flight estimate** — peak ~${formatBytes(pf.memory.total)}\n\n`);
  md.appendMarkdown(`${pf.spec.architecture}, ${(pf.memory.params / 1e6).toFixed(1)} M parameters, ${(pf.memory.trainableParams / 1e6).toFixed(2)} M trained\n\n`);
  md.appendMarkdown('| term | memory |\n|---|---:|\n');
  for (const p of pf.memory.parts) if (p.bytes > 0) md.appendMarkdown(`| ${p.name} | ${formatBytes(p.bytes)} |\n`);
  md.appendMarkdown(`| *loading peak* | ${formatBytes(pf.memory.loadPeak)} |\n\n`);
  if (pf.time) {
    md.appendMarkdown(`Time per epoch ~${formatDuration(pf.time.secondsPerEpoch)}: ${pf.time.stepsPerEpoch} steps, ${(pf.time.flopsPerToken / 1e9).toFixed(2)} GFLOP per token, ${(pf.time.throughput.flopsPerSecond / 1e9).toFixed(0)} GFLOP/s (${pf.time.throughput.source}).\n\n`);
  }
  for (const s of pf.suggestions.slice(0, 4)) md.appendMarkdown(`- with ${s.label}: ~${formatBytes(s.estimate.total)}\n`);
  return md;
}

export class ArgsHoverProvider implements vscode.HoverProvider {
  constructor(private readonly diags: ArgsDiagnostics) {}

  provideHover(doc: vscode.TextDocument, pos: vscode.Position): vscode.Hover | undefined {
    const loc = getLocation(doc.getText(), doc.offsetAt(pos));
    if (loc.path.length !== 1 || typeof loc.path[0] !== 'string') return undefined;
    const key = loc.path[0];
    const md = new vscode.MarkdownString();
    if (isArgsFieldName(key)) {
      const def = fieldDef(key);
      md.appendMarkdown(`**${key}** — ${def.description}\n\n`);
      if (def.kind === 'enum' || def.kind === 'enum-array') md.appendMarkdown(`Values: ${def.values.map((v) => `\`${v}\``).join(', ')}\n\n`);
      if (def.default !== undefined) md.appendMarkdown(`Default: \`${JSON.stringify(def.default)}\`\n\n`);
    } else {
      const old = lmtunerKey(key);
      if (!old) return undefined;
      md.appendMarkdown(old.to ? `LMTuner key: Tuner calls it **${old.to}**.` : `LMTuner key with no Tuner counterpart: ${old.note}.`);
    }
    const pf = this.diags.state(doc.uri)?.preflight;
    if (key === 'model' && pf) {
      md.appendMarkdown('\n\n---\n\n');
      md.appendMarkdown(estimateMarkdown(pf).value);
    }
    return new vscode.Hover(md);
  }
}

export function registerArgsHover(ctx: vscode.ExtensionContext, diags: ArgsDiagnostics): void {
  ctx.subscriptions.push(vscode.languages.registerHoverProvider({ pattern: '**/ARGS.json' }, new ArgsHoverProvider(diags)));
}
