// ARGS.json files written for the LMTuner paper's tool use spaced, capitalised keys and store
// most numbers and booleans as strings ("learning rate": "1e-5", "rope scaling": "False").
// This table maps each of them onto Tuner's key and value, so an old file is one quick fix
// away from a valid one instead of a wall of "unknown key" errors.
import type { ArgsFieldName } from './fields';
import * as l10n from '@vscode/l10n';

export interface LmtunerKey {
  /** Tuner's key, or null when the setting has no Tuner counterpart (the fix removes it). */
  to: ArgsFieldName | null;
  /** The value in Tuner's form; undefined when it cannot be converted (the fix keeps it as is). */
  convert?: (value: unknown) => unknown;
  /** Why a key without a counterpart is dropped. */
  note?: string;
}

function toNumber(v: unknown): unknown {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return undefined;
  const s = v.trim();
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) return undefined;
  return Number(s);
}

function toInteger(v: unknown): unknown {
  const n = toNumber(v);
  return typeof n === 'number' && Number.isInteger(n) ? n : undefined;
}

function toBoolean(v: unknown): unknown {
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase();
  if (s === 'true' || s === 'yes' || s === '1') return true;
  if (s === 'false' || s === 'no' || s === '0' || s === '') return false;
  return undefined;
}

function toQuantization(v: unknown): unknown {
  if (v === null || v === '' || v === false) return 'none';
  const s = String(v).trim().toLowerCase().replace(/[-_\s]?bits?$/, '');
  if (s === '8' || s === 'int8') return 'int8';
  if (s === '4' || s === 'int4') return 'int4';
  if (s === 'nf4') return 'nf4';
  if (s === 'none' || s === 'null' || s === 'false') return 'none';
  return undefined;
}

function toRopeScaling(v: unknown): unknown {
  const b = toBoolean(v);
  if (b === false || v === null) return 'none';
  if (typeof v !== 'string') return undefined;
  const s = v.trim().toLowerCase().replace(/[-\s]/g, '_');
  if (s === 'ntk' || s === 'dynamic_ntk') return 'dynamic';
  return ['linear', 'dynamic', 'yarn', 'llama3', 'ntk_by_parts', 'xpos'].includes(s) ? s : undefined;
}

function toResume(v: unknown): unknown {
  if (v === null || v === '' || v === false) return null;
  return typeof v === 'string' ? v : undefined;
}

export const LMTUNER_KEYS: Readonly<Record<string, LmtunerKey>> = {
  'learning rate': { to: 'learning_rate', convert: toNumber },
  epoch: { to: 'epochs', convert: toNumber },
  'lora rank': { to: 'lora_rank', convert: toInteger },
  'batch size': { to: 'batch_size', convert: toInteger },
  'max length': { to: 'max_length', convert: toInteger },
  'gpu number': { to: 'gpus', convert: toInteger },
  'gpu memory': { to: null, get note() { return l10n.t('Tuner measures the memory of this machine itself and checks the plan against it'); } },
  quantization: { to: 'quantization', convert: toQuantization },
  'train this machine': { to: null, get note() { return l10n.t('Tuner always trains on this machine; the run plan it writes can be copied to another one'); } },
  'save interval': { to: 'save_interval', convert: toInteger },
  'save path': { to: 'output_dir', convert: (v) => (typeof v === 'string' ? v : undefined) },
  'gradient accumulation': { to: 'gradient_accumulation', convert: toInteger },
  'rope scaling': { to: 'rope_scaling', convert: toRopeScaling },
  'train continue': { to: null, get note() { return l10n.t('resuming is set by resume_from (a checkpoint folder)'); } },
  load: { to: 'resume_from', convert: toResume },
};

/** Normalises spacing and case so "Learning Rate", "learning_rate " and "learning rate" match. */
export function lmtunerKey(key: string): LmtunerKey | undefined {
  const k = key.trim().toLowerCase().replace(/[_\s]+/g, ' ');
  return Object.prototype.hasOwnProperty.call(LMTUNER_KEYS, k) ? LMTUNER_KEYS[k] : undefined;
}

export { toBoolean, toInteger, toNumber };
