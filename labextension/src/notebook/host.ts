/**
 * The notebook tool host: while a notebook is open in JupyterLab, this browser
 * serves the `notebook_*` tools of every session bound to it, over the events
 * WebSocket's client-tool protocol (`register_tools` / `tool_call` /
 * `tool_result`, docs/websocket.md).
 *
 * Edits go through the notebook's shared model, so they show at once in every
 * view, never touch the file on disk (no "changed on disk" dialog, the user's
 * unsaved cells stay) and are undone one by one with the notebook's own Undo.
 * Runs use the notebook's own kernel connection (./kernelRun); their outputs
 * appear in the cell as they come. When the notebook is closed, the server
 * serves the tools itself on the file (jupyter_codex/workspace/notebooks.py).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';
import { Widget } from '@lumino/widgets';

import { CodexAPI } from '../handler';
import {
  applyEdit,
  contentItems,
  describeChange,
  ISharedNotebookLike,
  NotebookToolError,
  PREFIX,
  read,
  TOOL_NAMES
} from './cells';
import { ISessionContextLike, runCell } from './kernelRun';
import { reportedOutput } from './progress';

/** The parts of a NotebookPanel this host uses. */
interface INotebookPanelLike extends Widget {
  context: { path: string; model: { sharedModel: ISharedNotebookLike } };
  content: {
    widgets: readonly { model: { id: string }; node: HTMLElement }[];
  };
  sessionContext: ISessionContextLike;
}

interface IToolCall {
  call_id: string;
  session_id: string;
  tool: string;
  arguments: Record<string, unknown> | null;
}

/** The source of the cell with this id, or `null`. */
function sourceOf(nb: ISharedNotebookLike, cellId: unknown): string | null {
  const cell = nb.cells.find(c => c.id === cellId);
  return cell ? cell.getSource() : null;
}

function isNotebookPanel(widget: Widget): widget is INotebookPanelLike {
  const w = widget as unknown as Partial<INotebookPanelLike>;
  return (
    !!w.context?.model &&
    typeof w.context.path === 'string' &&
    w.context.path.endsWith('.ipynb') &&
    !!(w.context.model as { sharedModel?: unknown }).sharedModel &&
    !!w.sessionContext
  );
}

/** Where a changed cell is marked (until the user looks at it: focus or click). */
export const CHANGED_CLASS = 'jp-codex-changed-cell';

export class NotebookToolHost implements IDisposable {
  constructor(options: {
    app: JupyterFrontEnd;
    api: CodexAPI;
    WebSocket?: typeof WebSocket;
  }) {
    this._app = options.app;
    this._api = options.api;
    this._WebSocket = options.WebSocket ?? WebSocket;
    this._shell().layoutModified?.connect(this._scan, this);
    // A safety net: new sessions normally arrive as `session.created` on the socket.
    this._timer = window.setInterval(() => void this.refresh(), 30_000);
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  /** Emits the session id each time this host finishes serving a call. */
  get served(): ISignal<this, string> {
    return this._served;
  }

  /** Start: connect and serve. */
  start(): void {
    this._connect();
    void this.refresh();
  }

  /** Look for notebook sessions again (a new session, a notebook opened). */
  async refresh(): Promise<void> {
    try {
      this._sessions = new Map(
        (await this._api.listSessions())
          .filter(s => (s as { notebook?: string | null }).notebook)
          .map(s => [s.id, String((s as { notebook?: string }).notebook)])
      );
    } catch {
      return;
    }
    this._scan();
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    window.clearInterval(this._timer);
    this._shell().layoutModified?.disconnect(this._scan, this);
    this._ws?.close();
    Signal.clearData(this);
  }

  /** The open notebook panel of `path`, if any. */
  panelOf(path: string): INotebookPanelLike | null {
    for (const widget of this._app.shell.widgets('main')) {
      if (isNotebookPanel(widget) && widget.context.path === path) {
        return widget;
      }
    }
    return null;
  }

  /** JupyterLab's shell signals a layout change (a document opened or closed). */
  private _shell(): { layoutModified?: ISignal<unknown, void> } {
    return this._app.shell as unknown as { layoutModified?: ISignal<unknown, void> };
  }

  // -- registration -----------------------------------------------------------

  private _scan(): void {
    const wanted = new Set<string>();
    for (const [sessionId, path] of this._sessions) {
      if (this.panelOf(path)) {
        wanted.add(sessionId);
      }
    }
    for (const sessionId of wanted) {
      if (!this._registered.has(sessionId)) {
        this._registered.add(sessionId);
        this._send({ type: 'register_tools', session_id: sessionId, tools: TOOL_NAMES });
      }
    }
    for (const sessionId of [...this._registered]) {
      if (!wanted.has(sessionId)) {
        this._registered.delete(sessionId);
        this._send({ type: 'unregister_tools', session_id: sessionId });
      }
    }
  }

  private _connect(): void {
    if (this._disposed) {
      return;
    }
    const ws = new this._WebSocket(this._api.eventsUrl());
    this._ws = ws;
    ws.onopen = () => {
      this._registered.clear();
      // New sessions (a %codex in an open notebook, "Work on this notebook").
      ws.send(JSON.stringify({ type: 'subscribe', session_id: '*' }));
      this._scan();
    };
    ws.onmessage = msg => this._onMessage(String(msg.data));
    ws.onclose = () => {
      this._registered.clear();
      if (!this._disposed) {
        window.setTimeout(() => this._connect(), 1000);
      }
    };
  }

  private _send(message: Record<string, unknown>): void {
    if (this._ws?.readyState === WebSocket.OPEN) {
      this._ws.send(JSON.stringify(message));
    }
  }

  private _onMessage(data: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    if (msg.type === 'tool_call') {
      void this._answer(msg as unknown as IToolCall);
    } else if (
      msg.type === 'event' &&
      (msg.event as { type?: string } | undefined)?.type === 'session.created'
    ) {
      // Events come wrapped: {"type": "event", "event": {type, data, …}} (websocket.md).
      const event = msg.event as { data?: { id?: string; notebook?: string | null } };
      const session = event.data ?? {};
      if (session.id && session.notebook) {
        this._sessions.set(session.id, session.notebook);
        this._scan();
      }
    }
  }

  // -- calls ------------------------------------------------------------------

  private async _answer(call: IToolCall): Promise<void> {
    this._received = performance.now();
    const path = this._sessions.get(call.session_id);
    const panel = path ? this.panelOf(path) : null;
    let success = true;
    let items: { [key: string]: string }[];
    try {
      if (!panel || !path) {
        throw new NotebookToolError(
          'The notebook was closed in JupyterLab; call the tool again.'
        );
      }
      items = contentItems(await this._run(panel, path, call));
    } catch (error) {
      success = false;
      const text = error instanceof Error ? error.message : String(error);
      items = [{ type: 'inputText', text }];
    }
    this._send({ type: 'tool_result', call_id: call.call_id, success, content_items: items });
    this._served.emit(call.session_id);
  }

  private async _run(panel: INotebookPanelLike, path: string, call: IToolCall) {
    const nb = panel.context.model.sharedModel;
    const args = call.arguments ?? {};
    if (call.tool === PREFIX + 'read') {
      return read(nb, args, path);
    }
    if (call.tool === PREFIX + 'run_cell') {
      return runCell(panel.sessionContext, nb, args, output =>
        this._progress(call.call_id, { output: reportedOutput(output) })
      );
    }
    const before = sourceOf(nb, args.cell_id);
    const change = applyEdit(nb, call.tool, args);
    const after =
      change.action === 'deleted' ? null : (nb.cells[change.index]?.getSource() ?? null);
    if (change.action !== 'deleted') {
      this._mark(panel, change.cellId);
    }
    // The timeline's cell diff (the server appends it as `notebook.cell_changed`).
    this._progress(call.call_id, {
      cell_change: {
        action: change.action,
        cell_id: change.cellId,
        index: change.index,
        source_before: change.action === 'inserted' ? null : before,
        source_after: after
      }
    });
    return { text: describeChange(change, nb), images: [] };
  }

  /** Progress of a call this host runs (docs/websocket.md, `tool_progress`). */
  private _progress(callId: string, report: Record<string, unknown>): void {
    this._send({ type: 'tool_progress', call_id: callId, ...report });
  }

  /**
   * Mark a cell Codex changed until the user looks at it. The time from the call's
   * arrival to the frame that shows the change is kept on the panel's node
   * (`data-codex-last-edit-ms`, for the benchmark).
   */
  private _mark(panel: INotebookPanelLike, cellId: string): void {
    const received = this._received;
    requestAnimationFrame(() => {
      const cell = panel.content.widgets.find(w => w.model.id === cellId);
      if (!cell) {
        return;
      }
      panel.node.dataset.codexLastEditMs = (performance.now() - received).toFixed(1);
      cell.node.classList.add(CHANGED_CLASS);
      cell.node.title = 'Changed by Codex';
      const seen = () => {
        cell.node.classList.remove(CHANGED_CLASS);
        cell.node.removeAttribute('title');
        cell.node.removeEventListener('focusin', seen);
        cell.node.removeEventListener('click', seen);
      };
      cell.node.addEventListener('focusin', seen);
      cell.node.addEventListener('click', seen);
    });
  }

  private _app: JupyterFrontEnd;
  private _api: CodexAPI;
  private _WebSocket: typeof WebSocket;
  private _ws: WebSocket | null = null;
  private _disposed = false;
  private _timer: number;
  private _sessions = new Map<string, string>();
  private _registered = new Set<string>();
  private _served = new Signal<this, string>(this);
  private _received = 0;
}
