/**
 * `notebook_run_cell` in the browser: one code cell of an open notebook runs in
 * the notebook's own kernel (or in a subshell beside a running `%codex` cell),
 * its outputs land in the cell as they come and are reported one by one, a
 * timeout interrupts it, and the answer says how it ended.
 */
import { ISignal } from '@lumino/signaling';

import {
  find,
  ISharedNotebookLike,
  NotebookToolError,
  Output,
  outputFromMessage,
  runAnswer
} from './cells';
import { codexSubshell, releaseSubshell } from './subshell';

/** The parts of a kernel connection a run uses. */
export interface IKernelLike {
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

/** The parts of a notebook panel's session context a run uses. */
export interface ISessionContextLike {
  ready: Promise<void>;
  session: { kernel: IKernelLike | null } | null;
  startKernel?(): Promise<boolean>;
}

/** Run the code cell `args.cell_id`, reporting each output as it comes. */
export async function runCell(
  sessionContext: ISessionContextLike,
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
  await sessionContext.ready;
  let kernel = sessionContext.session?.kernel ?? null;
  if (!kernel && sessionContext.startKernel) {
    await sessionContext.startKernel();
    kernel = sessionContext.session?.kernel ?? null;
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
    return await execute(nb, cell, kernel, subshell, cellId, timeout, report, run);
  } finally {
    releaseSubshell(subshell, run.finished);
  }
}

async function execute(
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
