/**
 * Typed view of the `jupyter-codex:plugin` settings (see `schema/plugin.json`).
 *
 * The setting registry validates user input against the schema, but a composite
 * value can still be partial (older settings files, admin overrides written by
 * hand), so everything the plugin reads goes through `parseSettings`.
 */

/**
 * The settings the Codex frontend uses.
 */
export interface ICodexSettings {
  /** Enter sends the message; Shift+Enter inserts a new line. */
  readonly enterToSend: boolean;
  /** Model for new sessions; `''` means the server's default. */
  readonly defaultModel: string;
  /** Bubbles mounted at once in the timeline ("Show earlier" adds more). */
  readonly timelineWindow: number;
  /** Side of the shell the panel opens in. */
  readonly panelArea: 'left' | 'right';
}

/**
 * The values used when a setting is missing or has the wrong type.
 * Keep in sync with the `default`s in `schema/plugin.json`.
 */
export const DEFAULT_SETTINGS: ICodexSettings = Object.freeze({
  enterToSend: true,
  defaultModel: '',
  timelineWindow: 150,
  panelArea: 'right'
});

/**
 * Build an `ICodexSettings` from a setting registry composite (or any value).
 *
 * Unknown keys are ignored; a key with the wrong type or out of range falls
 * back to its default; `defaultModel` is trimmed.
 */
export function parseSettings(composite: unknown): ICodexSettings {
  const raw: Record<string, unknown> =
    typeof composite === 'object' &&
    composite !== null &&
    !Array.isArray(composite)
      ? (composite as Record<string, unknown>)
      : {};
  return {
    enterToSend:
      typeof raw.enterToSend === 'boolean'
        ? raw.enterToSend
        : DEFAULT_SETTINGS.enterToSend,
    defaultModel:
      typeof raw.defaultModel === 'string'
        ? raw.defaultModel.trim()
        : DEFAULT_SETTINGS.defaultModel,
    timelineWindow:
      typeof raw.timelineWindow === 'number' &&
      Number.isInteger(raw.timelineWindow) &&
      raw.timelineWindow >= 20 &&
      raw.timelineWindow <= 5000
        ? raw.timelineWindow
        : DEFAULT_SETTINGS.timelineWindow,
    panelArea:
      raw.panelArea === 'left' || raw.panelArea === 'right'
        ? raw.panelArea
        : DEFAULT_SETTINGS.panelArea
  };
}
