/**
 * Every HTTP request of the extension goes through this module, via
 * `ServerConnection` (base URL, token, XSRF and JupyterHub prefixes handled).
 * Models call `CodexAPI`; components never fetch.
 *
 * Why this module is long: `CodexAPI` has one short method per REST route the
 * frontend calls (sessions, jobs, images, accounts, targets, usage, logs,
 * folders), so the whole REST surface the frontend uses reads in one place
 * against docs/rest-api.md; splitting it by resource would give every model
 * several API objects to hold for no gain in clarity.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { Codex } from './tokens';

/** A failed request, with the server's stable error `code` when it sent one. */
export class CodexRequestError extends Error {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string
  ) {
    super(message);
    this.name = 'CodexRequestError';
  }
}

/**
 * Call a route under `<base_url>codex/api/` and decode the JSON answer.
 *
 * A 404 without our error body means the server extension is missing.
 */
export async function requestAPI<T>(
  endPoint: string,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  return requestJSON<T>(
    URLExt.join(settings.baseUrl, 'codex', 'api', endPoint),
    init,
    settings
  );
}

async function requestJSON<T>(
  url: string,
  init: RequestInit,
  settings: ServerConnection.ISettings
): Promise<T> {
  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    throw new ServerConnection.NetworkError(error as TypeError);
  }
  const text = await response.text();
  let body: any = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!response.ok) {
    const error = body && typeof body === 'object' ? body.error : null;
    if (error && typeof error === 'object' && error.message) {
      throw new CodexRequestError(
        String(error.message),
        response.status,
        String(error.code ?? `http_${response.status}`)
      );
    }
    if (response.status === 404) {
      throw new CodexRequestError(
        'The jupyter_codex server extension is not available: check `jupyter server extension list`.',
        404,
        'extension_missing'
      );
    }
    throw new CodexRequestError(
      body?.message ?? response.statusText ?? `HTTP ${response.status}`,
      response.status,
      `http_${response.status}`
    );
  }
  return body as T;
}

function json(method: string, body?: unknown): RequestInit {
  return body === undefined
    ? { method }
    : { method, body: JSON.stringify(body) };
}

function query(params: { [key: string]: string | number | undefined }): string {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== '')
    .map(([k, v]) => `${k}=${encodeURIComponent(String(v))}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** A folder entry from the Jupyter contents API. */
export interface IFolderEntry {
  name: string;
  path: string;
}

/** Typed client of the REST API (docs/rest-api.md). */
export class CodexAPI {
  constructor(
    readonly serverSettings: ServerConnection.ISettings = ServerConnection.makeSettings()
  ) {}

  private call<T>(endPoint: string, init: RequestInit = {}): Promise<T> {
    return requestAPI<T>(endPoint, init, this.serverSettings);
  }

  /** URL of the events WebSocket, with the token when the server wants it in the URL. */
  eventsUrl(): string {
    const s = this.serverSettings;
    let url = URLExt.join(s.wsUrl, 'codex', 'api', 'events');
    if (s.appendToken && s.token) {
      url += `?token=${encodeURIComponent(s.token)}`;
    }
    return url;
  }

  // -- sessions -------------------------------------------------------------

  /** Inline edit: Codex's rewrite of a cell or a selection (`POST inline/edit`). */
  inlineEdit(body: {
    path: string;
    source: string;
    instruction: string;
    selection_start?: number;
    selection_end?: number;
    language?: string;
    session_id?: string;
  }): Promise<{ session_id: string; proposal: string; text: string }> {
    return this.call('inline/edit', json('POST', body));
  }

  /** Ghost text at the cursor (`POST inline/complete`); `signal` cancels it. */
  inlineComplete(
    body: {
      prefix: string;
      suffix: string;
      language: string;
      path?: string;
      model?: string;
      effort?: string;
    },
    signal?: AbortSignal
  ): Promise<{ completion: string; model: string; error: string | null }> {
    return this.call('inline/complete', { ...json('POST', body), signal });
  }

  async listSessions(archived = false): Promise<Codex.ISession[]> {
    const answer = await this.call<{ sessions: Codex.ISession[] }>(
      `sessions${query({ archived: archived ? 'true' : undefined })}`
    );
    return answer.sessions;
  }

  createSession(
    body: {
      cwd: string;
      title?: string;
      model?: string;
      effort?: string;
      /** A notebook session: the notebook (path under the root) it works on. */
      notebook?: string;
    } & Codex.ISessionSettings
  ): Promise<Codex.ISession> {
    return this.call('sessions', json('POST', body));
  }

  getSession(id: string): Promise<Codex.ISession> {
    return this.call(`sessions/${id}`);
  }

  deleteSession(id: string): Promise<unknown> {
    return this.call(`sessions/${id}`, { method: 'DELETE' });
  }

  updateSession(
    id: string,
    changes: Partial<
      Pick<Codex.ISession, 'title' | 'archived' | 'model' | 'effort'>
    > &
      Codex.ISessionSettings
  ): Promise<Codex.ISession> {
    return this.call(`sessions/${id}`, json('PATCH', changes));
  }

  async events(id: string, after: number): Promise<Codex.IEvent[]> {
    const answer = await this.call<{ events: Codex.IEvent[] }>(
      `sessions/${id}/events${query({ after })}`
    );
    return answer.events;
  }

  /** With `queue`, a message sent while a turn runs becomes a job (`{job_id}`). */
  sendMessage(
    id: string,
    text: string,
    images?: string[],
    queue = false
  ): Promise<{ [key: string]: any }> {
    const body: { [key: string]: any } =
      images && images.length ? { text, images } : { text };
    if (queue) {
      body.when_busy = 'queue';
    }
    return this.call(`sessions/${id}/messages`, json('POST', body));
  }

  // -- jobs -------------------------------------------------------------------

  async listJobs(
    filters: { state?: string; session_id?: string; limit?: number } = {}
  ): Promise<Codex.IJob[]> {
    const answer = await this.call<{ jobs: Codex.IJob[] }>(
      `jobs${query(filters)}`
    );
    return answer.jobs;
  }

  cancelJob(id: string): Promise<Codex.IJob> {
    return this.call(`jobs/${id}/cancel`, json('POST', {}));
  }

  /** Store an image (base64 or a data: URL) for a later message of the session. */
  uploadImage(
    id: string,
    data: string
  ): Promise<{ id: string; mime: string; size: number }> {
    return this.call(`sessions/${id}/images`, json('POST', { data }));
  }

  /** Where a stored image is served (for thumbnails). */
  imageUrl(sessionId: string, imageId: string): string {
    return URLExt.join(
      this.serverSettings.baseUrl,
      'codex',
      'api',
      'sessions',
      sessionId,
      'images',
      imageId
    );
  }

  /** A file under the server root, base64 (an image to attach). */
  async readBase64(path: string): Promise<string> {
    const s = this.serverSettings;
    const url =
      URLExt.join(
        s.baseUrl,
        'api',
        'contents',
        ...path.split('/').filter(Boolean).map(encodeURIComponent)
      ) + '?content=1&format=base64&type=file';
    const model = await requestJSON<{ content: string }>(url, {}, s);
    return model.content;
  }

  /** Add text to the running turn (`turn/steer`). */
  steer(id: string, text: string): Promise<{ [key: string]: any }> {
    return this.call(`sessions/${id}/steer`, json('POST', { text }));
  }

  compact(id: string): Promise<{ [key: string]: any }> {
    return this.call(`sessions/${id}/compact`, json('POST', {}));
  }

  fork(id: string, title?: string): Promise<Codex.ISession> {
    return this.call(`sessions/${id}/fork`, json('POST', { title }));
  }

  undo(id: string): Promise<{ undone: string; files: string[] }> {
    return this.call(`sessions/${id}/undo`, json('POST', {}));
  }

  limits(): Promise<Codex.ILimits> {
    return this.call('limits');
  }

  stop(id: string, force: boolean): Promise<{ stopped: boolean }> {
    return this.call(`sessions/${id}/stop`, json('POST', { force }));
  }

  async skills(id: string): Promise<Codex.ISkill[]> {
    const answer = await this.call<{ skills: Codex.ISkill[] }>(
      `sessions/${id}/skills`
    );
    return answer.skills;
  }

  // -- approvals ------------------------------------------------------------

  async approvals(): Promise<Codex.IApproval[]> {
    const answer = await this.call<{ approvals: Codex.IApproval[] }>(
      'approvals'
    );
    return answer.approvals;
  }

  decide(
    id: string,
    decision: Codex.Decision,
    answer: Codex.IAnswer = {}
  ): Promise<unknown> {
    return this.call(`approvals/${id}`, json('POST', { decision, ...answer }));
  }

  // -- accounts, targets, usage, logs ---------------------------------------

  async accounts(): Promise<Codex.IAccount[]> {
    return (await this.call<{ accounts: Codex.IAccount[] }>('accounts'))
      .accounts;
  }

  importAccount(body: {
    auth_json?: unknown;
    label?: string;
  }): Promise<Codex.IAccount> {
    return this.call('accounts/import', json('POST', body));
  }

  addApiKey(apiKey: string, label?: string): Promise<Codex.IAccount> {
    return this.call(
      'accounts/api-key',
      json('POST', { api_key: apiKey, label: label || undefined })
    );
  }

  startSignIn(label?: string): Promise<Codex.ISignIn> {
    return this.call(
      'accounts/login',
      json('POST', { label: label || undefined })
    );
  }

  signIn(id: string): Promise<Codex.ISignIn> {
    return this.call(`accounts/login/${id}`);
  }

  cancelSignIn(id: string): Promise<Codex.ISignIn> {
    return this.call(`accounts/login/${id}`, { method: 'DELETE' });
  }

  updateAccount(
    id: string,
    changes: { label?: string; enabled?: boolean }
  ): Promise<Codex.IAccount> {
    return this.call(`accounts/${id}`, json('PATCH', changes));
  }

  removeAccount(id: string): Promise<unknown> {
    return this.call(`accounts/${id}`, { method: 'DELETE' });
  }

  /**
   * Whether the cli target's codex is signed in on its own (a login in its
   * CODEX_HOME) although no managed account is active.
   */
  async cliSignedIn(): Promise<boolean> {
    const status = await this.call<{ targets?: { [name: string]: any } }>(
      'status'
    );
    return status.targets?.cli?.auth?.ready === true;
  }

  async targets(): Promise<Codex.ITarget[]> {
    return (await this.call<{ targets: Codex.ITarget[] }>('targets')).targets;
  }

  updateTarget(
    name: string,
    changes: {
      account_id?: string | null;
      strategy?: string;
      threshold_percent?: number;
      rotation_seconds?: number;
    }
  ): Promise<Codex.ITarget> {
    return this.call(`targets/${name}`, json('PATCH', changes));
  }

  async refreshUsage(): Promise<Codex.IAccount[]> {
    return (
      await this.call<{ accounts: Codex.IAccount[] }>(
        'usage/refresh',
        json('POST', {})
      )
    ).accounts;
  }

  async usageHistory(
    accountId: string,
    since?: number
  ): Promise<Codex.IUsagePoint[]> {
    const answer = await this.call<{ points: Codex.IUsagePoint[] }>(
      `usage/${accountId}/history${query({ since })}`
    );
    return answer.points;
  }

  async logs(limit = 100): Promise<Codex.ILogEntry[]> {
    return (
      await this.call<{ entries: Codex.ILogEntry[] }>(`logs${query({ limit })}`)
    ).entries;
  }

  // -- Jupyter's contents API (folder suggestions) --------------------------

  /** Sub-folders of a folder under the server root, for the folder picker. */
  async listFolders(path: string): Promise<IFolderEntry[]> {
    const s = this.serverSettings;
    const clean = path.replace(/^\/+|\/+$/g, '');
    const url =
      URLExt.join(
        s.baseUrl,
        'api',
        'contents',
        ...clean.split('/').filter(Boolean).map(encodeURIComponent)
      ) + '?content=1&type=directory';
    const model = await requestJSON<{
      content: Array<{ name: string; path: string; type: string }> | null;
    }>(url, {}, s);
    return (model.content ?? [])
      .filter(item => item.type === 'directory' && !item.name.startsWith('.'))
      .map(item => ({ name: item.name, path: item.path }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }
}
