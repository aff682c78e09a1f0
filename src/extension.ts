import * as vscode from 'vscode';
import { registerOutput } from './vscode/output';

export function activate(ctx: vscode.ExtensionContext): void {
  registerOutput(ctx);
  ctx.subscriptions.push(vscode.commands.registerCommand('tuner.datasetStats', () => undefined));
}

export function deactivate(): void {}
