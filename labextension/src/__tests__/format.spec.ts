import { describe, expect, it } from 'vitest';

import {
  displayCommand,
  leastRemaining,
  relativeTime,
  remaining,
  rootFromCwd,
  toRootRelative,
  withAttachments
} from '../model/format';

describe('paths', () => {
  it('maps absolute paths under a root to Jupyter paths', () => {
    expect(toRootRelative('/srv/root/proj/a.py', ['/srv/root'])).toBe(
      'proj/a.py'
    );
    expect(toRootRelative('/srv/root/', ['/srv/root/'])).toBe('');
    expect(toRootRelative('/elsewhere/a.py', ['/srv/root'])).toBeNull();
    expect(toRootRelative('/srv/rootless/a.py', ['/srv/root'])).toBeNull();
  });

  it('resolves relative paths against the session folder, never above the root', () => {
    expect(toRootRelative('src/a.py', [], 'proj')).toBe('proj/src/a.py');
    expect(toRootRelative('./a.py', [], '')).toBe('a.py');
    expect(toRootRelative('../../etc/passwd', [], 'proj')).toBeNull();
  });

  it('derives the root from an absolute and a relative cwd', () => {
    expect(rootFromCwd('/srv/root/proj/sub', 'proj/sub')).toBe('/srv/root');
    expect(rootFromCwd('/srv/root', '')).toBe('/srv/root');
    expect(rootFromCwd('/srv/root/other', 'proj')).toBe('');
  });

  it('appends attachments as absolute paths when the root is known', () => {
    expect(withAttachments('Explain', [], '/r')).toBe('Explain');
    expect(withAttachments('Explain', ['nb.ipynb'], '/r/')).toBe(
      'Explain\n\nAttached files (read them for context):\n- /r/nb.ipynb'
    );
    expect(withAttachments('x', ['a.py'], '')).toMatch(
      'a.py (relative to the Jupyter root)'
    );
  });
});

describe('displayCommand', () => {
  it('unwraps the shell codex runs commands with', () => {
    expect(displayCommand("/bin/bash -lc 'touch a.txt'")).toBe('touch a.txt');
    expect(displayCommand("bash -lc 'echo '\\''hi'\\'''")).toBe("echo 'hi'");
    expect(displayCommand("/usr/bin/zsh -lc 'ls\nls -la'")).toBe('ls\nls -la');
    expect(displayCommand('pytest -q')).toBe('pytest -q');
    expect(displayCommand("python -c 'print(1)'")).toBe("python -c 'print(1)'");
  });
});

describe('usage', () => {
  it('computes what is left of each window', () => {
    expect(remaining(42)).toBe(58);
    expect(remaining(120)).toBe(0);
    expect(remaining(null)).toBeNull();
    expect(
      leastRemaining({
        primary_used_percent: 10,
        secondary_used_percent: 70,
        fetched_at: 1
      })
    ).toBe(30);
    expect(leastRemaining(null)).toBeNull();
  });

  it('says how long ago something happened', () => {
    expect(relativeTime(1000, 1010)).toBe('just now');
    expect(relativeTime(1000, 1000 + 600)).toBe('10 min ago');
    expect(relativeTime(0, 3 * 86400)).toBe('3 d ago');
  });
});
