/**
 * Inline completion (ghost text) served by Codex: a provider of JupyterLab's
 * inline-completion API (`@jupyterlab/completer`).
 *
 * Off by default and enabled per language in the Codex settings
 * (`inlineCompletion`). Each request waits `debounceMs` and is aborted as soon as
 * a newer one starts (the user typed on), which also cancels the upstream request
 * on the server; typing never waits for it.
 */
import {
  CompletionHandler,
  IInlineCompletionContext,
  IInlineCompletionList,
  IInlineCompletionProvider
} from '@jupyterlab/completer';

import { CodexAPI } from '../handler';

/** The settings of `jupyter-codex:inline-completion` (schema/inline-completion.json). */
export interface IInlineCompletionSettings {
  enabled: boolean;
  languages: string[];
  model: string;
  effort: string;
  debounceMs: number;
}

export const DEFAULT_INLINE: IInlineCompletionSettings = Object.freeze({
  enabled: false,
  languages: ['python'],
  model: '',
  effort: 'low',
  debounceMs: 250
}) as IInlineCompletionSettings;

export function parseInline(raw: unknown): IInlineCompletionSettings {
  const value =
    raw && typeof raw === 'object' ? (raw as Record<string, unknown>) : {};
  return {
    enabled: value.enabled === true,
    languages: Array.isArray(value.languages)
      ? value.languages.map(l => String(l).toLowerCase())
      : DEFAULT_INLINE.languages,
    model: typeof value.model === 'string' ? value.model.trim() : '',
    effort:
      typeof value.effort === 'string' ? value.effort : DEFAULT_INLINE.effort,
    debounceMs:
      typeof value.debounceMs === 'number' && value.debounceMs >= 0
        ? value.debounceMs
        : DEFAULT_INLINE.debounceMs
  };
}

/** The language of an editor's MIME type (`text/x-ipython` → `python`). */
export function languageOf(mimeType: string | undefined): string {
  const mime = (mimeType ?? '').toLowerCase();
  if (mime.includes('python')) {
    return 'python';
  }
  const match = /(?:text|application)\/(?:x-)?([a-z0-9+#-]+)/.exec(mime);
  return match ? match[1] : mime;
}

export class CodexInlineProvider implements IInlineCompletionProvider {
  readonly identifier = 'jupyter-codex';
  readonly name = 'Codex';

  constructor(
    private readonly api: CodexAPI,
    private readonly settings: () => IInlineCompletionSettings
  ) {}

  async fetch(
    request: CompletionHandler.IRequest,
    context: IInlineCompletionContext
  ): Promise<IInlineCompletionList> {
    const settings = this.settings();
    const language = languageOf(request.mimeType);
    // A newer request (the user typed on) cancels the one in flight.
    this._controller?.abort();
    if (!settings.enabled || !settings.languages.includes(language)) {
      return { items: [] };
    }
    const controller = new AbortController();
    this._controller = controller;
    await new Promise(resolve => setTimeout(resolve, settings.debounceMs));
    if (controller.signal.aborted) {
      return { items: [] };
    }
    const widget = context.widget as { context?: { path?: string } } | undefined;
    try {
      const answer = await this.api.inlineComplete(
        {
          prefix: request.text.slice(0, request.offset),
          suffix: request.text.slice(request.offset),
          language,
          path: widget?.context?.path ?? '',
          model: settings.model || undefined,
          effort: settings.effort || undefined
        },
        controller.signal
      );
      if (controller.signal.aborted || !answer.completion) {
        return { items: [] };
      }
      return { items: [{ insertText: answer.completion }] };
    } catch {
      return { items: [] }; // aborted, or the server could not answer: no ghost text
    } finally {
      if (this._controller === controller) {
        this._controller = null;
      }
    }
  }

  private _controller: AbortController | null = null;
}
