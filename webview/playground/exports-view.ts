// Merge and export: the jobs of this panel (stage, elapsed time, Cancel; when done the file
// written and Open Folder) and the merges and exports already in the workspace.
import { formatBytes } from '../../src/core/playground/format';
import { button, el } from './dom';
import { rt, send, V } from './state';
import * as l10n from '@vscode/l10n';

const KIND_LABEL = { get merge() { return l10n.t('Merge'); }, gguf: 'GGUF', ollama: 'Ollama', get merged() { return l10n.t('merged folder'); }, modelfile: 'Modelfile' } as const;

function baseName(p: string): string {
  return p.split(/[\\/]/).filter(Boolean).slice(-2).join('/');
}

export function renderExports(): void {
  const box = document.getElementById('exports');
  if (!box) return;
  const jobs = [...rt.jobs.values()].reverse();
  const rows: HTMLElement[] = jobs.map((j) =>
    el(
      'div',
      { className: `job phase-${j.phase}`, id: `job-${j.id}` },
      el('div', {}, el('strong', {}, KIND_LABEL[j.kind]), ` · ${j.source}`),
      el('div', { className: j.phase === 'failed' ? 'error' : 'muted', id: `job-message-${j.id}` }, j.phase === 'done' && j.out ? `${j.out} — ${j.message}` : j.message),
      j.hint ? el('div', { className: 'hint' }, j.hint) : undefined,
      j.phase === 'running' ? button(`cancel-${j.id}`, l10n.t('Cancel'), () => send({ v: V, type: 'cancelExport', jobId: j.id }), true) : undefined,
    ),
  );
  const files = rt.exports.filter((x) => x.kind !== 'modelfile');
  box.hidden = rows.length === 0 && files.length === 0;
  box.replaceChildren(
    el('h2', {}, l10n.t('Merged and exported')),
    ...rows,
    ...files.map((x) =>
      el(
        'div',
        { className: 'export-row' },
        el('span', { title: x.path }, `${baseName(x.path)}`),
        el('span', { className: 'muted' }, ` ${KIND_LABEL[x.kind]} · ${formatBytes(x.bytes)}${x.runId ? ` · ${l10n.t('run {0}', x.runId)}` : ''}`),
        button('', l10n.t('Open Folder'), () => send({ v: V, type: 'openExport', path: x.path }), true),
      ),
    ),
  );
}
