// The linter's output, independent of VS Code: positions are 0-based lines and UTF-16 columns
// (the same units as vscode.Position), so the adapter maps them one to one.

export type Severity = 'error' | 'warning' | 'info' | 'hint';

export interface Range {
  line: number;
  col: number;
  endLine: number;
  endCol: number;
}

export interface TextEdit {
  range: Range;
  newText: string;
}

/** A quick fix: one undoable edit set the user chooses to apply. */
export interface Fix {
  title: string;
  edits: TextEdit[];
  /** The single obvious fix for this problem (shown first, applied by "auto fix"). */
  preferred?: boolean;
}

export interface Problem {
  range: Range;
  severity: Severity;
  /** Stable rule code, e.g. "TUN001"; documented in docs/lint-rules.md. */
  code: string;
  message: string;
  fixes?: Fix[];
}
