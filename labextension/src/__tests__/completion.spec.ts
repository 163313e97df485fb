import { describe, expect, it } from 'vitest';

import {
  applyCompletion,
  complete,
  completeSkill,
  completeSlash,
  enterAction,
  SLASH_COMMANDS
} from '../model/completion';

const skills = [
  { name: 'pdf-report', description: 'Write a PDF report' },
  { name: 'plot', description: 'Make a plot' },
  { name: 'lint', description: 'Lint the code' }
];

describe('slash completion', () => {
  it('lists every command after a lone slash', () => {
    expect(completeSlash('/', 1)?.items).toEqual(SLASH_COMMANDS);
  });

  it('filters by prefix and replaces the first word', () => {
    const c = completeSlash('/re', 3);
    expect(c?.items.map(i => i.insert)).toEqual(['/review ']);
    expect(c?.start).toBe(0);
    expect(c?.end).toBe(3);
    const applied = applyCompletion('/re', c!, c!.items[0]);
    expect(applied).toEqual({ text: '/review ', caret: 8 });
  });

  it('offers /new and /model for n and m', () => {
    expect(completeSlash('/n', 2)?.items.map(i => i.label)).toEqual([
      '/new [title]'
    ]);
    expect(completeSlash('/M', 2)?.items.map(i => i.insert)).toEqual([
      '/model '
    ]);
  });

  it('stays quiet for complete commands, paths, later words and plain text', () => {
    expect(completeSlash('/status', 7)).toBeNull();
    expect(completeSlash('/usr/bin', 8)).toBeNull();
    expect(completeSlash('/review the parser', 12)).toBeNull();
    expect(completeSlash('hello /st', 9)).toBeNull();
  });
});

describe('$skill completion', () => {
  it('completes the token before the caret, prefix matches first', () => {
    const c = completeSkill('use $p', 6, skills);
    expect(c?.items.map(i => i.label)).toEqual(['$pdf-report', '$plot']);
    expect(c?.start).toBe(4);
    const applied = applyCompletion('use $p', c!, c!.items[1]);
    expect(applied.text).toBe('use $plot ');
    expect(applied.caret).toBe(10);
  });

  it('replaces a whole token when the caret is inside it, without doubling spaces', () => {
    const text = 'run $pl now';
    const c = completeSkill(text, 7, skills)!;
    expect(c.end).toBe(7);
    expect(applyCompletion(text, c, c.items[0]).text).toBe('run $plot now');
  });

  it('needs a $ at a word start and a known skill', () => {
    expect(completeSkill('price$p', 7, skills)).toBeNull();
    expect(completeSkill('$zzz', 4, skills)).toBeNull();
    expect(completeSkill('$', 1, [])).toBeNull();
  });

  it('prefers slash completion at the start of the message', () => {
    expect(complete('/s', 2, skills)?.items[0].insert).toBe('/status');
    expect(complete('$li', 3, skills)?.items[0].label).toBe('$lint');
  });
});

describe('enterAction', () => {
  const key = (over: Partial<Parameters<typeof enterAction>[0]> = {}) => ({
    key: 'Enter',
    shiftKey: false,
    ctrlKey: false,
    metaKey: false,
    ...over
  });

  it('sends on Enter and adds a newline on Shift+Enter by default', () => {
    expect(enterAction(key(), true)).toBe('send');
    expect(enterAction(key({ shiftKey: true }), true)).toBe('newline');
  });

  it('sends on Ctrl/Cmd+Enter when Enter-to-send is off', () => {
    expect(enterAction(key(), false)).toBe('newline');
    expect(enterAction(key({ ctrlKey: true }), false)).toBe('send');
    expect(enterAction(key({ metaKey: true }), false)).toBe('send');
  });

  it('ignores other keys and IME composition', () => {
    expect(enterAction(key({ key: 'a' }), true)).toBeNull();
    expect(enterAction(key({ isComposing: true }), true)).toBeNull();
  });
});
