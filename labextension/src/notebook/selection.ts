/** What an inline edit rewrites, and how the answer goes back (pure: unit-tested). */

/** A range of a text: `[start, end)` in UTF-16 offsets, as CodeMirror counts. */
export interface IRange {
  start: number;
  end: number;
}

/**
 * The range an inline edit rewrites: the selection, or with none (`start === end`)
 * the whole line of the cursor when `lineFallback` (a file editor), else `null` (the
 * whole cell).
 */
export function editRange(
  text: string,
  anchor: number,
  head: number,
  lineFallback: boolean
): IRange | null {
  const start = Math.max(0, Math.min(anchor, head, text.length));
  const end = Math.min(text.length, Math.max(anchor, head));
  if (start !== end) {
    return { start, end };
  }
  if (!lineFallback) {
    return null;
  }
  const lineStart = text.lastIndexOf('\n', start - 1) + 1;
  const newline = text.indexOf('\n', start);
  return { start: lineStart, end: newline === -1 ? text.length : newline };
}

/**
 * The text with `range` replaced by `proposal`, or `null` when the text under the
 * range is no longer `expected` (the user typed meanwhile: the offsets are stale).
 * A proposal for part of a line keeps the line's own end (no newline is added or
 * dropped at the range's end).
 */
export function applyProposal(
  text: string,
  range: IRange,
  expected: string,
  proposal: string
): string | null {
  if (text.slice(range.start, range.end) !== expected) {
    return null;
  }
  const keepsNewline = expected.endsWith('\n');
  let replacement = proposal;
  if (!keepsNewline && replacement.endsWith('\n')) {
    replacement = replacement.replace(/\n+$/, '');
  } else if (keepsNewline && !replacement.endsWith('\n')) {
    replacement += '\n';
  }
  return text.slice(0, range.start) + replacement + text.slice(range.end);
}

/** The language Codex is told, from a file's name. */
export function languageOf(path: string): string {
  const ext = path.includes('.') ? path.slice(path.lastIndexOf('.') + 1).toLowerCase() : '';
  const known: Record<string, string> = {
    py: 'python',
    ipy: 'python',
    js: 'javascript',
    mjs: 'javascript',
    ts: 'typescript',
    tsx: 'tsx',
    md: 'markdown',
    r: 'r',
    jl: 'julia',
    sh: 'bash',
    json: 'json',
    yaml: 'yaml',
    yml: 'yaml',
    toml: 'toml',
    sql: 'sql',
    rs: 'rust',
    go: 'go',
    c: 'c',
    cpp: 'cpp',
    h: 'c',
    java: 'java'
  };
  return known[ext] ?? ext;
}
