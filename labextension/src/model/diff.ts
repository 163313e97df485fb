/** The typed lines of a unified diff, as the file-change bubbles show them (pure). */

/**
 * Split a unified diff into typed lines for display. Codex sends the plain
 * content for an added or deleted file: those lines show as added / removed.
 */
export function diffLines(
  diff: string,
  changeKind?: string
): Array<{ kind: 'add' | 'del' | 'hunk' | 'meta' | 'ctx'; text: string }> {
  if (!diff) {
    return [];
  }
  const lines = diff.replace(/\n$/, '').split('\n');
  const unified = lines.some(line => line.startsWith('@@'));
  if (!unified && (changeKind === 'add' || changeKind === 'delete')) {
    const add = changeKind === 'add';
    return lines.map(text => ({
      kind: add ? ('add' as const) : ('del' as const),
      text: `${add ? '+' : '-'}${text}`
    }));
  }
  return lines.map(text => {
    if (text.startsWith('@@')) {
      return { kind: 'hunk' as const, text };
    }
    if (
      text.startsWith('+++') ||
      text.startsWith('---') ||
      text.startsWith('diff ') ||
      text.startsWith('index ')
    ) {
      return { kind: 'meta' as const, text };
    }
    if (text.startsWith('+')) {
      return { kind: 'add' as const, text };
    }
    if (text.startsWith('-')) {
      return { kind: 'del' as const, text };
    }
    return { kind: 'ctx' as const, text };
  });
}
