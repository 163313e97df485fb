/**
 * The notebook tool host: while a notebook is open in JupyterLab, this browser
 * serves the `notebook_*` tools of every session bound to it, over the events
 * WebSocket's client-tool protocol (`register_tools` / `tool_call` /
 * `tool_result`, docs/websocket.md).
 *
 * Edits go through the notebook's shared model, so they show at once in every
 * view, never touch the file on disk (no "changed on disk" dialog, the user's
 * unsaved cells stay) and are undone one by one with the notebook's own Undo.
 * Runs use the notebook's own kernel connection; their outputs appear in the
 * cell as they come. When the notebook is closed, the server serves the tools
 * itself on the file (jupyter_codex/workspace/notebooks.py).
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
  find,
  ISharedNotebookLike,
  NotebookToolError,
  Output,
  outputFromMessage,
  PREFIX,
  read,
  runAnswer,
  TOOL_NAMES
} from './cells';
import { reportedOutput } from './progress';
import { codexSubshell, releaseSubshell } from './subshell';

/** The parts of a NotebookPanel this host uses. */
interface INotebookPanelLike extends Widget {
  context: { path: string; model: { sharedModel: ISharedNotebookLike } };
  content: {
    widgets: readonly { model: { id: string }; node: HTMLElement }[];
  };
  sessionContext: {
    ready: Promise<void>;
    session: { kernel: IKernelLike | null } | null;
    startKernel?(): Promise<boolean>;
  };
}

interface IKernelLike {
  status: string;
  statusChanged: ISignal<IKernelLike, string>;
  requestExecute(content: {
    code: string;
    store_history?: boolean;
    allow_stdin?: boolean;
    stop_on_error?: boolean;
  }): {
    onIOPub: (msg: { header: { msg_type: string }; content: Record<string, unknown> }) => void;
    done: Promise<{ content: { execution_count?: number | null; status: string } }>;
  };
  interrupt(): Promise<void>;
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
      return this._runCell(panel, nb, args, output =>
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

  private async _runCell(
    panel: INotebookPanelLike,
    nb: ISharedNotebookLike,
    args: Record<string, unknown>,
    report: (output: Output) => void
  ) {
    const cellId = String(args.cell_id ?? '');
    const cell = nb.cells[find(nb, args.cell_id)];
    if (cell.cell_type !== 'code') {
      throw new NotebookToolError(
        `Cell ${cellId} is a ${cell.cell_type} cell; only code cells run.`
      );
    }
    const timeout = typeof args.timeout === 'number' ? args.timeout : 60;
    await panel.sessionContext.ready;
    let kernel = panel.sessionContext.session?.kernel ?? null;
    if (!kernel && panel.sessionContext.startKernel) {
      await panel.sessionContext.startKernel();
      kernel = panel.sessionContext.session?.kernel ?? null;
    }
    if (!kernel) {
      throw new NotebookToolError(
        'The notebook has no kernel; ask the user to select one.'
      );
    }
    // A %codex cell of this notebook occupies the kernel: run beside it (subshell.ts).
    const subshell = await codexSubshell(kernel);
    const run = { finished: false };
    try {
      return await this._execute(nb, cell, kernel, subshell, cellId, timeout, report, run);
    } finally {
      releaseSubshell(subshell, run.finished);
    }
  }

  private async _execute(
    nb: ISharedNotebookLike,
    cell: ISharedNotebookLike['cells'][number],
    kernel: IKernelLike,
    subshell: IKernelLike | null,
    cellId: string,
    timeout: number,
    report: (output: Output) => void,
    run: { finished: boolean }
  ) {
    if (!subshell && kernel.status === 'busy') {
      // It would queue behind the running cell.
      throw new NotebookToolError(
        "The notebook's kernel is busy running another cell, so this cell cannot run now; tell the user to run it (or to wait for the cell)."
      );
    }
    const outputs: Output[] = [];
    const show = () => nb.transact(() => cell.setOutputs?.([...outputs]), false);
    nb.transact(() => {
      cell.setOutputs?.([]);
      cell.execution_count = null;
    }, false);
    const future = (subshell ?? kernel).requestExecute({
      code: cell.getSource(),
      store_history: true,
      allow_stdin: false,
      stop_on_error: true
    });
    let failed = false;
    future.onIOPub = msg => {
      const type = msg.header.msg_type;
      if (type === 'clear_output') {
        outputs.length = 0;
        show();
        report({ output_type: 'clear_output' }); // the timeline clears its copy too
        return;
      }
      const output = outputFromMessage(type, msg.content);
      if (output) {
        report(output); // before merging: the timeline gets each piece as it comes
        failed ||= type === 'error';
        const last = outputs[outputs.length - 1];
        if (type === 'stream' && last?.output_type === 'stream' && last.name === output.name) {
          last.text = String(last.text) + String(output.text);
        } else {
          outputs.push(output);
        }
        show();
      }
    };
    let status = 'completed';
    let count: number | null = null;
    let timer = 0;
    let watch: ((sender: IKernelLike, state: string) => void) | null = null;
    const ended = new Promise<string>(resolve => {
      timer = window.setTimeout(() => resolve('timeout'), timeout * 1000);
      watch = (_: IKernelLike, state: string) => {
        if (state === 'dead' || state === 'restarting' || state === 'autorestarting') {
          resolve('died');
        }
      };
      kernel!.statusChanged.connect(watch);
      void future.done.then(
        reply => {
          count = reply.content.execution_count ?? null;
          resolve(reply.content.status === 'ok' ? 'ok' : 'error');
        },
        () => resolve('died')
      );
    });
    const how = await ended;
    run.finished = how === 'ok' || how === 'error';
    window.clearTimeout(timer);
    if (watch) {
      kernel.statusChanged.disconnect(watch);
    }
    if (how === 'timeout' && subshell) {
      // An interrupt would stop the %codex cell, not this run.
      status = `still running after ${timeout} seconds (timeout); it runs in a subshell beside the %codex cell and cannot be interrupted without stopping that cell: the user can restart the kernel`;
    } else if (how === 'timeout') {
      await kernel.interrupt();
      status = `interrupted after ${timeout} seconds (timeout)`;
    } else if (how === 'died') {
      throw new NotebookToolError(
        `The kernel died during the run of cell ${cellId} (it is being restarted; its state is lost).`
      );
    } else if (how === 'error' || failed) {
      status = 'completed with an error';
    }
    if (subshell && how !== 'timeout') {
      status += ' in a subshell of the kernel, beside the running %codex cell';
    }
    nb.transact(() => {
      cell.execution_count = count;
    }, false);
    const answer = runAnswer(cellId, count, outputs, status);
    if (how === 'timeout') {
      throw new NotebookToolError(answer.text);
    }
    return answer;
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
