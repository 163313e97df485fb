/**
 * Small display helpers shared by models and components (pure).
 */
import { Codex } from '../tokens';

/** "just now", "5 min ago", "3 h ago", "2 d ago". */
export function relativeTime(time: number, now = Date.now() / 1000): string {
  const delta = Math.max(0, now - time);
  if (delta < 45) {
    return 'just now';
  }
  if (delta < 3600) {
    return `${Math.round(delta / 60)} min ago`;
  }
  if (delta < 86400) {
    return `${Math.round(delta / 3600)} h ago`;
  }
  return `${Math.round(delta / 86400)} d ago`;
}

/** Remaining quota (100 − used) of one window, or `null` when unknown. */
export function remaining(used: number | null | undefined): number | null {
  if (typeof used !== 'number' || !Number.isFinite(used)) {
    return null;
  }
  return Math.max(0, Math.min(100, Math.round(100 - used)));
}

/** The window an account will run out of first (5-hour or weekly). */
export function leastRemaining(usage: Codex.IUsage | null): number | null {
  if (!usage) {
    return null;
  }
  const values = [
    remaining(usage.primary_used_percent),
    remaining(usage.secondary_used_percent)
  ].filter((v): v is number => v !== null);
  return values.length ? Math.min(...values) : null;
}

/** "5 h", "7 d", "90 min" for a window length in minutes. */
export function windowLabel(minutes: number | null | undefined): string {
  if (!minutes) {
    return '';
  }
  if (minutes % 1440 === 0) {
    return `${minutes / 1440} d`;
  }
  if (minutes % 60 === 0) {
    return `${minutes / 60} h`;
  }
  return `${minutes} min`;
}

/** "resets in 2 h 5 min". */
export function resetsIn(
  resetsAt: number | null | undefined,
  now = Date.now() / 1000
): string {
  if (!resetsAt) {
    return '';
  }
  const s = Math.max(0, resetsAt - now);
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) {
    return `resets in ${d} d ${h} h`;
  }
  if (h > 0) {
    return `resets in ${h} h ${m} min`;
  }
  return `resets in ${m} min`;
}

/**
 * A path codex reported (usually absolute) as a path under the Jupyter root,
 * for `docmanager:open`; `null` when it lies outside every known root.
 *
 * @param roots absolute folders that correspond to the Jupyter root
 *   (the page config's `serverRoot`, or a session's absolute cwd minus its
 *   relative cwd).
 * @param cwd the session's folder relative to the root, for relative paths.
 */
export function toRootRelative(
  path: string,
  roots: readonly string[],
  cwd = ''
): string | null {
  if (!path) {
    return null;
  }
  if (!path.startsWith('/') && !/^[A-Za-z]:[\\/]/.test(path)) {
    const joined = cwd ? `${cwd.replace(/\/+$/, '')}/${path}` : path;
    return normalize(joined);
  }
  const clean = path.replace(/\\/g, '/');
  for (const root of roots) {
    if (!root) {
      continue;
    }
    const r = root.replace(/\\/g, '/').replace(/\/+$/, '');
    if (clean === r) {
      return '';
    }
    if (clean.startsWith(`${r}/`)) {
      return normalize(clean.slice(r.length + 1));
    }
  }
  return null;
}

function normalize(path: string): string | null {
  const out: string[] = [];
  for (const part of path.split('/')) {
    if (!part || part === '.') {
      continue;
    }
    if (part === '..') {
      if (!out.length) {
        return null;
      }
      out.pop();
    } else {
      out.push(part);
    }
  }
  return out.join('/');
}

/**
 * The Jupyter root as an absolute path, from a session's absolute cwd (as
 * codex reports it) and its cwd relative to the root.
 */
export function rootFromCwd(absoluteCwd: string, relativeCwd: string): string {
  const abs = absoluteCwd.replace(/\\/g, '/').replace(/\/+$/, '');
  const rel = relativeCwd.replace(/^\/+|\/+$/g, '');
  if (!rel) {
    return abs;
  }
  return abs.endsWith(`/${rel}`)
    ? abs.slice(0, abs.length - rel.length - 1)
    : '';
}

/** The message text with the attached files appended as context. */
export function withAttachments(
  text: string,
  attachments: readonly string[],
  serverRoot: string
): string {
  if (!attachments.length) {
    return text;
  }
  const root = serverRoot.replace(/\/+$/, '');
  const lines = attachments.map(path =>
    root ? `- ${root}/${path}` : `- ${path} (relative to the Jupyter root)`
  );
  return `${text}\n\nAttached files (read them for context):\n${lines.join('\n')}`;
}

/** Compact token count: 950, 12.3k, 1.2M. */
export function tokens(n: number): string {
  if (n < 1000) {
    return String(n);
  }
  if (n < 1_000_000) {
    return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  }
  return `${(n / 1_000_000).toFixed(1)}M`;
}

/** Milliseconds as "850 ms", "4.2 s", "3 min 5 s". */
export function duration(ms: number | null): string {
  if (ms === null) {
    return '';
  }
  if (ms < 1000) {
    return `${ms} ms`;
  }
  if (ms < 60_000) {
    return `${(ms / 1000).toFixed(1)} s`;
  }
  return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
}

/**
 * A command as the user would type it: codex reports shell commands wrapped as
 * `/bin/bash -lc '…'`; show the inner command line.
 */
export function displayCommand(command: string): string {
  const match =
    /^(?:\/(?:usr\/)?bin\/)?(?:ba|z)?sh -l?c '((?:[^']|'\\'')*)'$/s.exec(
      command.trim()
    );
  return match ? match[1].replace(/'\\''/g, "'") : command;
}
