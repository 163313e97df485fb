/**
 * The composer's text and attachments, held outside React so that commands
 * ("send the current cell or selection to Codex") can fill it.
 */
import { ISignal, Signal } from '@lumino/signaling';

export class ComposerDraft {
  get text(): string {
    return this._text;
  }

  set text(value: string) {
    if (value !== this._text) {
      this._text = value;
      this._changed.emit();
    }
  }

  /** Files (paths under the Jupyter root) attached as context. */
  get attachments(): readonly string[] {
    return this._attachments;
  }

  /** Emitted when the text or the attachments change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Asks the composer to take the focus. */
  get focusRequested(): ISignal<this, void> {
    return this._focusRequested;
  }

  attach(path: string): void {
    if (path && !this._attachments.includes(path)) {
      this._attachments = [...this._attachments, path];
      this._changed.emit();
    }
  }

  detach(path: string): void {
    this._attachments = this._attachments.filter(p => p !== path);
    this._changed.emit();
  }

  /** Append a block (a cell, a selection) to the text and focus the composer. */
  append(block: string): void {
    const sep = this._text && !this._text.endsWith('\n') ? '\n\n' : '';
    this.text = this._text + sep + block;
    this._focusRequested.emit();
  }

  clear(): void {
    this._text = '';
    this._attachments = [];
    this._changed.emit();
  }

  focus(): void {
    this._focusRequested.emit();
  }

  private _text = '';
  private _attachments: string[] = [];
  private _changed = new Signal<this, void>(this);
  private _focusRequested = new Signal<this, void>(this);
}

/** A cell or selection as a fenced block for the composer. */
export function fence(code: string, language = '', source = ''): string {
  const ticks = code.includes('```') ? '````' : '```';
  const header = source ? `From ${source}:\n` : '';
  return `${header}${ticks}${language}\n${code.replace(/\n$/, '')}\n${ticks}`;
}
