import { describe, expect, it } from 'vitest';

import { applyProposal, editRange, languageOf } from '../notebook/selection';
import { keystrokeOf } from '../notebook/shortcut';
import {
  codexSubshell,
  releaseSubshell,
  TURNS_PROBE,
  turnsOf
} from '../notebook/subshell';

describe('editRange', () => {
  const text = 'a = 1\n    b = compute(a)\nc = 3';

  it('is the selection, in either direction', () => {
    expect(editRange(text, 6, 10, true)).toEqual({ start: 6, end: 10 });
    expect(editRange(text, 10, 6, true)).toEqual({ start: 6, end: 10 });
  });

  it("is the cursor's whole line in a file without a selection", () => {
    const at = text.indexOf('compute');
    expect(editRange(text, at, at, true)).toEqual({ start: 6, end: 24 });
    expect(text.slice(6, 24)).toBe('    b = compute(a)');
    expect(editRange(text, 0, 0, true)).toEqual({ start: 0, end: 5 });
    expect(editRange(text, text.length, text.length, true)).toEqual({
      start: 25,
      end: text.length
    });
    expect(editRange('', 0, 0, true)).toEqual({ start: 0, end: 0 });
  });

  it('is null (the whole cell) in a cell without a selection', () => {
    expect(editRange(text, 3, 3, false)).toBeNull();
  });

  it('clamps offsets past the end', () => {
    expect(editRange('abc', 1, 99, true)).toEqual({ start: 1, end: 3 });
  });
});

describe('applyProposal', () => {
  const text = 'x = 1\nfor v in values:\n    total += v\ny = 2\n';

  it('replaces only the range', () => {
    const start = text.indexOf('for');
    const end = text.indexOf('\ny');
    const before = text.slice(start, end);
    expect(applyProposal(text, { start, end }, before, 'total = sum(values)\n')).toBe(
      'x = 1\ntotal = sum(values)\ny = 2\n'
    );
  });

  it("keeps the range's own line end", () => {
    const start = 0;
    const end = 6; // 'x = 1\n', newline included
    expect(applyProposal(text, { start, end }, 'x = 1\n', 'x = 10')).toBe(
      'x = 10\nfor v in values:\n    total += v\ny = 2\n'
    );
  });

  it('refuses when the text under the range changed meanwhile', () => {
    expect(applyProposal('x = 2\n', { start: 0, end: 5 }, 'x = 1', 'x = 3')).toBeNull();
  });
});

describe('languageOf', () => {
  it('names the language by the extension', () => {
    expect(languageOf('src/model.py')).toBe('python');
    expect(languageOf('a/b.TS')).toBe('typescript');
    expect(languageOf('Makefile')).toBe('');
    expect(languageOf('x.weird')).toBe('weird');
  });
});

describe('keystrokeOf', () => {
  const key = (k: string, mods: Partial<Record<string, boolean>> = {}) => ({
    key: k,
    ctrlKey: false,
    altKey: false,
    shiftKey: false,
    metaKey: false,
    ...mods
  });

  it('writes keystrokes as Lumino normalizes keybindings', () => {
    expect(keystrokeOf(key('i', { ctrlKey: true }))).toBe('Ctrl I');
    expect(keystrokeOf(key('i', { metaKey: true }))).toBe('Cmd I');
    expect(keystrokeOf(key('I', { ctrlKey: true, shiftKey: true }))).toBe('Ctrl Shift I');
    expect(keystrokeOf(key('Enter', { altKey: true }))).toBe('Alt Enter');
  });
});

describe('codexSubshell', () => {
  /** A kernel connection as @jupyterlab/services shapes it, in memory. */
  function kernel(turns: string | null, subshells = true) {
    const log: string[] = [];
    const connection = {
      supportsSubshells: subshells,
      requestCreateSubshell: () => {
        log.push('create');
        return { done: Promise.resolve({ content: { status: 'ok', subshell_id: 's1' } }) };
      },
      clone: (options: { subshellId?: string }) => ({
        ...connection,
        subshellId: options.subshellId,
        dispose: () => log.push(`dispose ${options.subshellId}`),
        requestExecute: (content: { user_expressions?: Record<string, string> }) => {
          log.push(`probe ${Object.values(content.user_expressions ?? {})[0] === TURNS_PROBE}`);
          return {
            done: Promise.resolve({
              content: {
                user_expressions:
                  turns === null ? {} : { turns: { data: { 'text/plain': turns } } }
              }
            })
          };
        }
      }),
      requestExecute: () => ({ done: Promise.resolve({ content: {} }) })
    };
    return { connection, log };
  }

  it('runs beside a %codex cell in a subshell', async () => {
    const { connection, log } = kernel('1');
    const sub = await codexSubshell(connection);
    expect((sub as { subshellId?: string } | null)?.subshellId).toBe('s1');
    expect(log).toEqual(['create', 'probe true']);
    sub?.dispose();
    expect(log).toEqual(['create', 'probe true', 'dispose s1']);
  });

  it('deletes the subshell and uses the main shell when no turn runs', async () => {
    for (const turns of ['0', null]) {
      const { connection, log } = kernel(turns);
      expect(await codexSubshell(connection)).toBeNull();
      expect(log).toEqual(['create', 'probe true', 'dispose s1']);
    }
  });

  it('leaves kernels without subshells alone', async () => {
    const { connection, log } = kernel('1', false);
    expect(await codexSubshell(connection)).toBeNull();
    expect(log).toEqual([]);
  });

  it('reads the probe answer', () => {
    expect(turnsOf({ content: { user_expressions: { turns: { data: { 'text/plain': '2' } } } } })).toBe(2);
    expect(turnsOf({ content: {} })).toBe(0);
  });
});

describe('releaseSubshell', () => {
  const connection = () => {
    const seen: (string | null | undefined)[] = [];
    const sub = {
      subshellId: 's1' as string | null | undefined,
      dispose: () => seen.push(sub.subshellId)
    };
    return { sub, seen };
  };

  it('deletes the subshell of a finished run (dispose with its id)', () => {
    const { sub, seen } = connection();
    releaseSubshell(sub, true);
    expect(seen).toEqual(['s1']);
  });

  it('keeps the subshell of a run still going, closing only the connection', () => {
    const { sub, seen } = connection();
    releaseSubshell(sub, false);
    expect(seen).toEqual([null]);
    releaseSubshell(null, false); // no subshell: nothing to do
  });
});
