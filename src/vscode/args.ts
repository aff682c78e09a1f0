// Everything Tuner shows on ARGS.json and on dataset lines about training: diagnostics with the
// pre-flight estimate, quick fixes, hover, and the JSONL token preview. One call from activate().
import * as vscode from 'vscode';
import { resolveArgs } from '../core/args/fields';
import { registerArgsCodeActions } from './args-code-actions';
import { registerArgsDiagnostics, type ArgsDiagnostics } from './args-diagnostics';
import { registerArgsHover } from './args-hover';
import { registerJsonlTokenPreview } from './jsonl-token-preview';
import type { PrepareServices } from './prepare-command';

export interface ArgsServices extends PrepareServices {
  argsDiagnostics: ArgsDiagnostics;
}

export function registerArgs(ctx: vscode.ExtensionContext): ArgsServices {
  const preview = registerJsonlTokenPreview(ctx);
  const argsDiagnostics = registerArgsDiagnostics(ctx, async (argsFile, args) => {
    const r = await preview.client.preview(argsFile, resolveArgs(args), '{}');
    return 'error' in r ? undefined : r.eosWarning;
  });
  registerArgsCodeActions(ctx, argsDiagnostics);
  registerArgsHover(ctx, argsDiagnostics);
  return { argsDiagnostics, extensionUri: ctx.extensionUri };
}
