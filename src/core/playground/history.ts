// Prompt history, kept per workspace (the extension stores it in workspaceState): the newest
// prompt first, each prompt once (sending it again moves it to the top), at most HISTORY_LIMIT,
// and nothing but well-formed entries read back (the stored value may come from an older build).
import type { PlaygroundMode } from './conversation';

export const HISTORY_LIMIT = 50;
/** Longer prompts are kept cut to this many characters: history is for recalling, not archiving. */
export const HISTORY_MAX_CHARS = 20_000;

export interface HistoryEntry {
  mode: PlaygroundMode;
  /** The user turn (chat) or the text to continue (completion). */
  text: string;
  /** The system prompt it was sent with (chat). */
  system?: string;
  /** Epoch milliseconds. */
  at: number;
}

function isEntry(e: unknown): e is HistoryEntry {
  if (typeof e !== 'object' || e === null) return false;
  const o = e as Record<string, unknown>;
  return (o.mode === 'chat' || o.mode === 'text') && typeof o.text === 'string' && typeof o.at === 'number' && (o.system === undefined || typeof o.system === 'string');
}

/** The stored history, keeping only well-formed entries. */
export function readHistory(stored: unknown): HistoryEntry[] {
  return Array.isArray(stored) ? stored.filter(isEntry).slice(0, HISTORY_LIMIT) : [];
}

/** The history with `entry` on top. */
export function addToHistory(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const text = entry.text.slice(0, HISTORY_MAX_CHARS);
  if (text.trim() === '') return [...history];
  const e: HistoryEntry = { ...entry, text };
  const same = (h: HistoryEntry) => h.mode === e.mode && h.text === e.text && (h.system ?? '') === (e.system ?? '');
  return [e, ...history.filter((h) => !same(h))].slice(0, HISTORY_LIMIT);
}
