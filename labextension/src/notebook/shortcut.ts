/**
 * The inline-edit shortcut inside a file editor. CodeMirror binds Ctrl/Cmd+I itself
 * (`selectParentSyntax`, which prevents the default), and Lumino ignores keydown
 * events whose default was prevented, so JupyterLab's keybinding never fires while
 * a file editor has the focus. A capture-phase listener runs the command first for
 * the keys the user's keybindings give it (`.jp-FileEditor` selector) and stops
 * CodeMirror from changing the selection.
 */

/** A keydown event as Lumino writes its keystrokes (`Ctrl Shift I`, `Cmd I`). */
export function keystrokeOf(event: {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  shiftKey: boolean;
  metaKey: boolean;
}): string {
  const parts: string[] = [];
  if (event.ctrlKey) {
    parts.push('Ctrl');
  }
  if (event.altKey) {
    parts.push('Alt');
  }
  if (event.shiftKey) {
    parts.push('Shift');
  }
  if (event.metaKey) {
    parts.push('Cmd');
  }
  parts.push(event.key.length === 1 ? event.key.toUpperCase() : event.key);
  return parts.join(' ');
}

interface ICommandsLike {
  keyBindings: readonly { command: string; keys: readonly string[]; selector: string }[];
  execute(id: string): Promise<unknown>;
  isEnabled(id: string): boolean;
}

/** Listen (until disposed) for `command`'s single-key bindings on `selector` elements. */
export function captureShortcut(
  commands: ICommandsLike,
  command: string,
  selector: string
): { dispose(): void } {
  const listener = (event: KeyboardEvent) => {
    const target = event.target as Element | null;
    if (!target?.closest?.(`${selector} .cm-editor`)) {
      return;
    }
    const keystroke = keystrokeOf(event);
    const bound = commands.keyBindings.some(
      b =>
        b.command === command &&
        b.selector === selector &&
        b.keys.length === 1 &&
        b.keys[0] === keystroke
    );
    if (!bound || !commands.isEnabled(command)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
    void commands.execute(command);
  };
  document.addEventListener('keydown', listener, true);
  return { dispose: () => document.removeEventListener('keydown', listener, true) };
}
