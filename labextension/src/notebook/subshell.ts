/**
 * Runs during a `%codex` turn of the same notebook: the turn's cell occupies the
 * kernel's main shell and waits for the turn, which waits for the run; queued there
 * the run would never start. So the run asks the kernel, through a subshell (JEP 91,
 * ipykernel >= 7: its own thread, the same namespace), whether a `%codex` turn is in
 * progress, and if so runs in that subshell, beside the `%codex` cell (the server
 * does the same for closed notebooks: `workspace/notebook_kernel.py`). A subshell's
 * run cannot be interrupted without interrupting the `%codex` cell.
 */

/** Evaluated in the subshell: the `%codex` turns the kernel runs now (see runner.py). */
export const TURNS_PROBE =
  "(lambda m: m.turns_in_progress() if m is not None else 0)(__import__('sys').modules.get('jupyter_codex.kernel.runner'))";

/** The part of a kernel connection this module uses (`@jupyterlab/services`). */
export interface ISubshellKernelLike {
  supportsSubshells?: boolean;
  subshellId?: string | null;
  requestCreateSubshell?(
    content: Record<string, never>,
    disposeOnDone?: boolean
  ): { done: Promise<{ content: { status: string; subshell_id?: string } }> };
  clone?(options?: {
    handleComms?: boolean;
    subshellId?: string;
  }): ISubshellKernelLike & { dispose(): void };
  requestExecute(content: {
    code: string;
    silent?: boolean;
    store_history?: boolean;
    user_expressions?: Record<string, string>;
    allow_stdin?: boolean;
    stop_on_error?: boolean;
  }): {
    done: Promise<{
      content: { user_expressions?: Record<string, { data?: Record<string, string> }> };
    }>;
  };
}

/** How many turns the probe's `text/plain` answer says (0 when unreadable). */
export function turnsOf(reply: {
  content: { user_expressions?: Record<string, { data?: Record<string, string> }> };
}): number {
  const plain = reply.content.user_expressions?.turns?.data?.['text/plain'];
  const turns = Number.parseInt(plain ?? '0', 10);
  return Number.isFinite(turns) ? turns : 0;
}

/**
 * A connection to a new subshell of `kernel` when a `%codex` cell occupies its main
 * shell (dispose it after the run: that deletes the subshell), else `null`.
 */
export async function codexSubshell<K extends object>(
  connection: K
): Promise<(K & { dispose(): void }) | null> {
  const kernel = connection as unknown as ISubshellKernelLike;
  if (!kernel.supportsSubshells || !kernel.requestCreateSubshell || !kernel.clone) {
    return null;
  }
  let sub: (ISubshellKernelLike & { dispose(): void }) | null = null;
  try {
    const created = await kernel.requestCreateSubshell({}, true).done;
    const id = created.content.subshell_id;
    if (created.content.status !== 'ok' || !id) {
      return null;
    }
    sub = kernel.clone({ handleComms: false, subshellId: id });
    const probe = await sub.requestExecute({
      code: '',
      silent: true,
      store_history: false,
      user_expressions: { turns: TURNS_PROBE },
      allow_stdin: false,
      stop_on_error: false
    }).done;
    if (turnsOf(probe) > 0) {
      return sub as unknown as K & { dispose(): void };
    }
  } catch {
    // No subshell after all: the main shell, as before.
  }
  sub?.dispose();
  return null;
}

/**
 * Close the subshell's connection after a run. Only a subshell whose run is over is
 * deleted: ipykernel deletes a busy one by joining its thread on the thread that
 * routes every shell message, which would block the whole kernel until the code ends
 * (a timed-out run). Such a subshell stays in the kernel, an idle thread once its code
 * ends; the connection closes either way.
 */
export function releaseSubshell(
  sub: { subshellId?: string | null; dispose(): void } | null,
  finished: boolean
): void {
  if (!sub) {
    return;
  }
  if (!finished) {
    sub.subshellId = null; // dispose() deletes the subshell of a connection that has one
  }
  sub.dispose();
}
