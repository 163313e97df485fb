import { describe, expect, it } from 'vitest';

import schema from '../../schema/plugin.json';
import { DEFAULT_SETTINGS, parseSettings } from '../settings';

describe('parseSettings', () => {
  it('returns the defaults for an empty composite', () => {
    expect(parseSettings({})).toEqual(DEFAULT_SETTINGS);
  });

  it('returns the defaults for values that are not objects', () => {
    for (const value of [undefined, null, 42, 'text', [true]]) {
      expect(parseSettings(value)).toEqual(DEFAULT_SETTINGS);
    }
  });

  it('keeps well-typed values and trims the model', () => {
    expect(
      parseSettings({
        enterToSend: false,
        defaultModel: '  gpt-5-codex ',
        timelineWindow: 300,
        panelArea: 'left'
      })
    ).toEqual({
      enterToSend: false,
      defaultModel: 'gpt-5-codex',
      timelineWindow: 300,
      panelArea: 'left'
    });
  });

  it('rejects out-of-range windows and unknown panel sides', () => {
    for (const timelineWindow of [0, 19, 5001, 12.5, '200']) {
      expect(parseSettings({ timelineWindow }).timelineWindow).toBe(
        DEFAULT_SETTINGS.timelineWindow
      );
    }
    expect(parseSettings({ panelArea: 'top' }).panelArea).toBe('right');
  });

  it('falls back per key on wrong types and ignores unknown keys', () => {
    expect(
      parseSettings({ enterToSend: 'no', defaultModel: 7, extra: 1 })
    ).toEqual(DEFAULT_SETTINGS);
  });

  it('agrees with the defaults declared in schema/plugin.json', () => {
    const declared = Object.fromEntries(
      Object.entries(schema.properties).map(([key, spec]) => [
        key,
        spec.default
      ])
    );
    expect(declared).toEqual(DEFAULT_SETTINGS);
  });
});
