// Everything Tuner shows on ARGS.json and on dataset lines about training: diagnostics with the
// pre-flight estimate, quick fixes, hover, and the JSONL token preview. One call from activate().
import * as vscode from 'vscode';
import { registerArgsCodeActions } from './args-code-actions';
import { registerArgsDiagnostics, type ArgsDiagnostics } from './args-diagnostics';
import { registerArgsHover } from './args-hover';
import { registerJsonlTokenPreview } from './jsonl-token-preview';
import type { PrepareServices } from './prepare-command';

export interface ArgsServices extends PrepareServices {
  argsDiagnostics: ArgsDiagnostics;
}

export function registerArgs(ctx: vscode.ExtensionContext): ArgsServices {
  const argsDiagnostics = registerArgsDiagnostics(ctx);
  registerArgsCodeActions(ctx, argsDiagnostics);
  registerArgsHover(ctx, argsDiagnostics);
  registerJsonlTokenPreview(ctx);
  return { argsDiagnostics, extensionUri: ctx.extensionUri };
}
