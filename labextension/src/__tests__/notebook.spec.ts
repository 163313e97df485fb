import { describe, expect, it } from 'vitest';

import {
  applyEdit,
  ISharedCellLike,
  ISharedNotebookLike,
  NotebookToolError,
  read
} from '../notebook/cells';
import { lineDiff } from '../notebook/diff';

/** A minimal in-memory shared notebook: cells with ids; transactions counted. */
function notebook(sources: [string, string][]) {
  let next = 0;
  const make = (id: string, type: string, text: string): ISharedCellLike => {
    let source = text;
    return {
      id,
      cell_type: type,
      getSource: () => source,
      setSource: (v: string) => {
        source = v;
      },
      execution_count: null,
      getOutputs: () => []
    };
  };
  const nb: ISharedNotebookLike & { transactions: number } = {
    cells: sources.map(([id, s]) => make(id, 'code', s)),
    transactions: 0,
    insertCell(index, cell) {
      const created = make(cell.id ?? `new${next++}`, cell.cell_type, cell.source);
      this.cells.splice(index, 0, created);
      return created;
    },
    deleteCell(index) {
      this.cells.splice(index, 1);
    },
    moveCell(from, to) {
      const [cell] = this.cells.splice(from, 1);
      this.cells.splice(to, 0, cell);
    },
    transact(f) {
      this.transactions++;
      f();
    }
  };
  return nb;
}

describe('notebook tools on a live document', () => {
  it('inserts, edits, moves and deletes, one transaction each', () => {
    const nb = notebook([
      ['a', 'x = 1'],
      ['b', 'y = 2']
    ]);
    applyEdit(nb, 'notebook_insert_cell', { source: 'z = 3', after_cell_id: 'a' });
    applyEdit(nb, 'notebook_edit_cell', { cell_id: 'b', source: 'y = 20' });
    applyEdit(nb, 'notebook_move_cell', { cell_id: 'b', index: 0 });
    applyEdit(nb, 'notebook_delete_cell', { cell_id: 'a' });
    expect(nb.cells.map(c => c.getSource())).toEqual(['y = 20', 'z = 3']);
    expect(nb.transactions).toBe(4);
  });

  it('refuses an unknown cell id with a message for the model', () => {
    const nb = notebook([['a', 'x = 1']]);
    expect(() =>
      applyEdit(nb, 'notebook_edit_cell', { cell_id: 'gone', source: '' })
    ).toThrow(NotebookToolError);
    expect(() =>
      applyEdit(nb, 'notebook_delete_cell', { cell_id: 'gone' })
    ).toThrow(/No cell has the id 'gone'/);
  });

  it('reads cells with ids and sources', () => {
    const nb = notebook([['a', 'x = 1']]);
    const text = read(nb, {}, 'n.ipynb').text;
    expect(text).toContain('id=a');
    expect(text).toContain('x = 1');
  });
});

describe('lineDiff', () => {
  it('marks removed, added and kept lines', () => {
    expect(lineDiff('a\nb\nc', 'a\nB\nc')).toEqual([
      [' ', 'a'],
      ['-', 'b'],
      ['+', 'B'],
      [' ', 'c']
    ]);
  });
});

describe('inline completion settings', () => {
  it('is off by default and per language', async () => {
    const { parseInline, languageOf } = await import('../notebook/completion');
    expect(parseInline({}).enabled).toBe(false);
    expect(parseInline({ enabled: true, languages: ['Python'] }).languages).toEqual([
      'python'
    ]);
    expect(languageOf('text/x-ipython')).toBe('python');
    expect(languageOf('text/x-markdown')).toBe('markdown');
  });
});
