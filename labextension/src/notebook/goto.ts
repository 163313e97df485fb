/**
 * "Go to cell": open a notebook in JupyterLab (or bring its open view to the
 * front) and select one of its cells by cell id, scrolled into view.
 * Duck-typed, like the rest of the extension: no notebook package needed.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';

interface INotebookLike {
  widgets: readonly { model: { id: string }; node: HTMLElement }[];
  activeCellIndex: number;
  mode?: string;
  deselectAll?(): void;
  scrollToItem?(index: number, align?: string): Promise<void>;
}

/** Resolves to `null` when done, else why it could not (for the user). */
export async function openNotebookCell(
  app: JupyterFrontEnd,
  path: string,
  cellId: string | null
): Promise<string | null> {
  let widget: any;
  try {
    widget = await app.commands.execute('docmanager:open', { path });
  } catch (error) {
    return `Could not open ${path}: ${error instanceof Error ? error.message : error}`;
  }
  if (!widget?.id) {
    return `Could not open ${path}.`;
  }
  await widget.context?.ready;
  app.shell.activateById(widget.id);
  if (!cellId) {
    return null;
  }
  const notebook = widget.content as INotebookLike | undefined;
  const index = notebook?.widgets?.findIndex(cell => cell.model.id === cellId) ?? -1;
  if (!notebook || index < 0) {
    return `Cell ${cellId} is no longer in ${path}.`;
  }
  notebook.deselectAll?.();
  notebook.activeCellIndex = index;
  if (notebook.mode !== undefined) {
    notebook.mode = 'command';
  }
  if (notebook.scrollToItem) {
    await notebook.scrollToItem(index, 'center');
  } else {
    notebook.widgets[index].node.scrollIntoView({ block: 'center' });
  }
  return null;
}
