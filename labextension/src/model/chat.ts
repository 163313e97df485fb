/**
 * One open session: its timeline (built from the event stream), its pending
 * approvals, and the actions of the composer (send, Stop → Force Stop, model).
 */
import { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { EventStream, IEventSubscriber } from '../events';
import { CodexAPI } from '../handler';
import { Codex } from '../tokens';
import { applyJobEvents, liveJobs } from './jobs';
import { EventSequencer } from './sequencer';
import { applyEvents, EMPTY_TIMELINE, ITimelineState } from './timeline';

/** The scheduler used to coalesce incoming events into one update. */
export type FrameScheduler = (callback: () => void) => void;

const defaultScheduler: FrameScheduler = callback => {
  if (typeof requestAnimationFrame === 'function') {
    requestAnimationFrame(() => callback());
  } else {
    setTimeout(callback, 0);
  }
};

/** Reasoning efforts the server accepts (docs/rest-api.md). */
export const EFFORTS = ['minimal', 'low', 'medium', 'high', 'xhigh'];

export interface IChatModelOptions {
  api: CodexAPI;
  stream: EventStream;
  session: Codex.ISession;
  schedule?: FrameScheduler;
}

export class ChatModel implements IDisposable, IEventSubscriber {
  constructor(options: IChatModelOptions) {
    this._api = options.api;
    this._session = options.session;
    this._schedule = options.schedule ?? defaultScheduler;
    this._subscription = options.stream.subscribe(options.session.id, this);
  }

  get id(): string {
    return this._session.id;
  }

  /** The session as last seen (REST or `session.updated`). */
  get session(): Codex.ISession {
    return this._session;
  }

  get timeline(): ITimelineState {
    return this._timeline;
  }

  /** Emitted after the timeline or the session changed. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Something the user should see (a refused message, a failed action). */
  get notice(): ISignal<this, string> {
    return this._notice;
  }

  /** The first replay finished: the timeline shows the whole history. */
  get ready(): boolean {
    return this._ready;
  }

  get running(): boolean {
    return this._timeline.running;
  }

  /** Follow-ups queued (or running as jobs) in this session, oldest first. */
  get followUps(): Codex.IJob[] {
    return liveJobs(this._jobs);
  }

  /** Stop was sent for the running turn: the next click is a Force Stop. */
  get stopRequested(): boolean {
    return this._stopRequested;
  }

  /** Events dropped as duplicates (for diagnostics and tests). */
  get duplicates(): number {
    return this._sequencer.duplicates;
  }

  get isDisposed(): boolean {
    return this._disposed;
  }

  // -- IEventSubscriber -------------------------------------------------------

  after(): number {
    return this._sequencer.lastSeq;
  }

  onEvents(events: Codex.IEvent[]): void {
    for (const event of events) {
      if (event.session_id === this.id) {
        this._queue.push(event);
      }
    }
    this._scheduleFlush();
  }

  onSubscribed(): void {
    this._subscribed = true;
    this._scheduleFlush();
  }

  onError(code: string, message: string): void {
    this._notice.emit(`${message} (${code})`);
  }

  // -- actions ----------------------------------------------------------------

  /** Send a message (or a slash command). Answers the server's reply. With
   * `queue`, a message sent while a turn runs is queued as a follow-up job. */
  async send(
    text: string,
    images?: string[],
    queue = false
  ): Promise<{ [key: string]: any } | null> {
    const trimmed = text.trim();
    if (!trimmed) {
      return null;
    }
    try {
      return await this._api.sendMessage(this.id, trimmed, images, queue);
    } catch (error) {
      this._notice.emit((error as Error).message);
      throw error;
    }
  }

  /** Store an image (a data: URL, or a file under the root) for the next message. */
  async uploadImage(
    source: { dataUrl: string } | { path: string }
  ): Promise<{ id: string; url: string } | null> {
    try {
      const data =
        'dataUrl' in source
          ? source.dataUrl
          : await this._api.readBase64(source.path);
      const image = await this._api.uploadImage(this.id, data);
      return { id: image.id, url: this._api.imageUrl(this.id, image.id) };
    } catch (error) {
      this._notice.emit((error as Error).message);
      return null;
    }
  }

  /** The thumbnail URL of an image a user message carried (null: not one of ours). */
  imageUrl(path: string): string | null {
    const match = new RegExp(`/images/${this.id}/([0-9a-f]{32})\\.\\w+$`).exec(
      path
    );
    return match ? this._api.imageUrl(this.id, match[1]) : null;
  }

  /** Add text to the running turn instead of waiting for it to end. */
  async steer(text: string): Promise<void> {
    try {
      await this._api.steer(this.id, text.trim());
    } catch (error) {
      this._notice.emit((error as Error).message);
      throw error;
    }
  }

  /** Compact, fork or undo; failures become a notice. Fork answers the new session. */
  async act(
    action: 'compact' | 'fork' | 'undo'
  ): Promise<Codex.ISession | null> {
    try {
      if (action === 'fork') {
        return await this._api.fork(this.id);
      }
      if (action === 'undo') {
        const answer = await this._api.undo(this.id);
        this._notice.emit(
          answer.files.length
            ? `Undid the last turn and restored ${answer.files.join(', ')}.`
            : 'Undid the last turn (it changed no files).'
        );
      } else {
        await this._api.compact(this.id);
      }
    } catch (error) {
      this._notice.emit((error as Error).message);
    }
    return null;
  }

  limits(): Promise<Codex.ILimits> {
    return this._api.limits();
  }

  /** First call: Stop (interrupt). While the same turn still runs: Force Stop. */
  async stop(): Promise<void> {
    const force = this._stopRequested;
    this._stopRequested = true;
    this._changed.emit();
    try {
      await this._api.stop(this.id, force);
    } catch (error) {
      this._notice.emit((error as Error).message);
    }
  }

  /** Cancel a queued follow-up (or stop it if it already runs). */
  async cancelJob(jobId: string): Promise<void> {
    try {
      await this._api.cancelJob(jobId);
    } catch (error) {
      this._notice.emit((error as Error).message);
    }
  }

  async decide(
    approvalId: string,
    decision: Codex.Decision,
    answer?: Codex.IAnswer
  ): Promise<void> {
    try {
      await this._api.decide(approvalId, decision, answer);
    } catch (error) {
      this._notice.emit((error as Error).message);
    }
  }

  async update(
    changes: Partial<Pick<Codex.ISession, 'title' | 'model' | 'effort'>> &
      Codex.ISessionSettings
  ): Promise<void> {
    try {
      this._session = await this._api.updateSession(this.id, changes);
      this._changed.emit();
    } catch (error) {
      this._notice.emit((error as Error).message);
    }
  }

  /** The session's skills, for the `$skill` picker (fetched once). */
  skills(): Promise<Codex.ISkill[]> {
    if (!this._skills) {
      this._skills = this._api.skills(this.id).catch(error => {
        this._skills = null;
        console.warn('Codex: cannot list skills', error);
        return [];
      });
    }
    return this._skills;
  }

  /** The model catalogue (through `/model`, which changes nothing). */
  models(): Promise<Codex.IModelInfo[]> {
    if (!this._models) {
      this._models = this._api
        .sendMessage(this.id, '/model')
        .then(answer => parseModels(answer.models))
        .catch(error => {
          this._models = null;
          console.warn('Codex: cannot list models', error);
          return [];
        });
    }
    return this._models;
  }

  dispose(): void {
    if (this._disposed) {
      return;
    }
    this._disposed = true;
    this._subscription.dispose();
    Signal.clearData(this);
  }

  // -- internals --------------------------------------------------------------

  private _scheduleFlush(): void {
    if (this._flushScheduled || this._disposed) {
      return;
    }
    this._flushScheduled = true;
    this._schedule(() => {
      this._flushScheduled = false;
      this.flush();
    });
  }

  /** Apply what arrived (exposed for tests; normally called once per frame). */
  flush(): void {
    if (this._disposed) {
      return;
    }
    const queued = this._queue;
    this._queue = [];
    const ready = this._sequencer.accept(queued);
    const wasRunning = this._timeline.running;
    const next = applyEvents(this._timeline, ready);
    let changed = next !== this._timeline;
    this._timeline = next;
    const jobs = applyJobEvents(this._jobs, ready);
    if (jobs !== this._jobs) {
      this._jobs = jobs;
      changed = true;
    }
    if (next.session && next.session !== this._session) {
      this._session = { ...this._session, ...next.session };
    }
    if (wasRunning && !next.running) {
      this._stopRequested = false;
    }
    if (!this._ready && this._subscribed && this._sequencer.heldCount === 0) {
      this._ready = true;
      changed = true;
    }
    if (changed) {
      this._changed.emit();
    }
    this._fillGap();
  }

  /** Events are held behind a hole once the replay is over: fetch it by REST. */
  private _fillGap(): void {
    const after = this._sequencer.missingAfter;
    if (after === null || !this._subscribed || this._fetchingGap) {
      return;
    }
    this._fetchingGap = true;
    this._api
      .events(this.id, after)
      .then(events => this.onEvents(events))
      .catch(error => console.warn('Codex: cannot fetch missed events', error))
      .finally(() => {
        this._fetchingGap = false;
      });
  }

  private _api: CodexAPI;
  private _session: Codex.ISession;
  private _schedule: FrameScheduler;
  private _subscription: IDisposable;
  private _sequencer = new EventSequencer();
  private _timeline: ITimelineState = EMPTY_TIMELINE;
  private _jobs: ReadonlyMap<string, Codex.IJob> = new Map();
  private _queue: Codex.IEvent[] = [];
  private _flushScheduled = false;
  private _subscribed = false;
  private _ready = false;
  private _fetchingGap = false;
  private _stopRequested = false;
  private _skills: Promise<Codex.ISkill[]> | null = null;
  private _models: Promise<Codex.IModelInfo[]> | null = null;
  private _changed = new Signal<this, void>(this);
  private _notice = new Signal<this, string>(this);
  private _disposed = false;
}

/** Read codex's `model/list` entries defensively. */
export function parseModels(raw: unknown): Codex.IModelInfo[] {
  if (!Array.isArray(raw)) {
    return [];
  }
  const out: Codex.IModelInfo[] = [];
  for (const item of raw) {
    if (!item || typeof item !== 'object') {
      continue;
    }
    const id = String(item.model ?? item.id ?? '');
    if (!id) {
      continue;
    }
    const efforts = Array.isArray(item.supportedReasoningEfforts)
      ? item.supportedReasoningEfforts
          .map((e: any) =>
            typeof e === 'string' ? e : String(e?.reasoningEffort ?? '')
          )
          .filter(Boolean)
      : [];
    out.push({ id, label: String(item.displayName ?? id), efforts });
  }
  return out;
}
