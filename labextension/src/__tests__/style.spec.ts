/**
 * Every stylesheet in style/ takes its colours from JupyterLab's `--jp-*`
 * variables only, so that light, dark and high-contrast themes all apply:
 * no hex, rgb()/hsl()-style or named colours, no custom properties of our own.
 */
/// <reference types="vite/client" />
import { describe, expect, it } from 'vitest';

/** Every stylesheet under style/, as text, by path relative to style/. */
const SHEETS: { [name: string]: string } = Object.fromEntries(
  Object.entries(
    import.meta.glob<string>('../../style/**/*.css', {
      query: '?raw',
      import: 'default',
      eager: true
    })
  ).map(([path, text]) => [path.replace('../../style/', ''), text])
);

/** CSS Color 4 named colours (transparent and currentColor are allowed). */
const NAMED_COLOURS = new Set(
  `aliceblue antiquewhite aqua aquamarine azure beige bisque black blanchedalmond
  blue blueviolet brown burlywood cadetblue chartreuse chocolate coral
  cornflowerblue cornsilk crimson cyan darkblue darkcyan darkgoldenrod darkgray
  darkgreen darkgrey darkkhaki darkmagenta darkolivegreen darkorange darkorchid
  darkred darksalmon darkseagreen darkslateblue darkslategray darkslategrey
  darkturquoise darkviolet deeppink deepskyblue dimgray dimgrey dodgerblue
  firebrick floralwhite forestgreen fuchsia gainsboro ghostwhite gold goldenrod
  gray green greenyellow grey honeydew hotpink indianred indigo ivory khaki
  lavender lavenderblush lawngreen lemonchiffon lightblue lightcoral lightcyan
  lightgoldenrodyellow lightgray lightgreen lightgrey lightpink lightsalmon
  lightseagreen lightskyblue lightslategray lightslategrey lightsteelblue
  lightyellow lime limegreen linen magenta maroon mediumaquamarine mediumblue
  mediumorchid mediumpurple mediumseagreen mediumslateblue mediumspringgreen
  mediumturquoise mediumvioletred midnightblue mintcream mistyrose moccasin
  navajowhite navy oldlace olive olivedrab orange orangered orchid palegoldenrod
  palegreen paleturquoise palevioletred papayawhip peachpuff peru pink plum
  powderblue purple rebeccapurple red rosybrown royalblue saddlebrown salmon
  sandybrown seagreen seashell sienna silver skyblue slateblue slategray
  slategrey snow springgreen steelblue tan teal thistle tomato turquoise violet
  wheat white whitesmoke yellow yellowgreen`.split(/\s+/)
);

/** Properties whose value may hold a colour keyword. */
const COLOUR_PROPERTY =
  /^(color|background(-color|-image)?|border(-(top|right|bottom|left|block|inline)(-(start|end))?)?(-color)?|outline(-color)?|fill|stroke|box-shadow|text-shadow|caret-color|accent-color|text-decoration(-color)?|column-rule(-color)?|scrollbar-color)$/;

const COLOUR_FUNCTION =
  /\b(rgba?|hsla?|hwb|lab|lch|oklab|oklch|color|device-cmyk)\(/i;

/** The problems of one stylesheet, as `line: message`. */
export function cssViolations(css: string): string[] {
  // Blank out comments, keeping line numbers.
  const text = css.replace(/\/\*[\s\S]*?\*\//g, c => c.replace(/[^\n]/g, ' '));
  const problems: string[] = [];
  const lineOf = (index: number) => text.slice(0, index).split('\n').length;
  // Declarations: `property: value` up to `;` or `}` (inside a block).
  const declaration = /([{;]\s*)(-{0,2}[a-zA-Z][\w-]*)\s*:\s*([^;{}]*)/g;
  let match: RegExpExecArray | null;
  while ((match = declaration.exec(text))) {
    const property = match[2];
    const value = match[3];
    const line = lineOf(match.index + match[1].length);
    if (property.startsWith('--') && !property.startsWith('--jp-')) {
      problems.push(`${line}: defines ${property} (not a --jp-* variable)`);
    }
    for (const used of value.matchAll(/var\(\s*(--[\w-]+)/g)) {
      if (!used[1].startsWith('--jp-')) {
        problems.push(`${line}: uses ${used[1]} (not a --jp-* variable)`);
      }
    }
    const hex = /#[0-9a-fA-F]{3,8}\b/.exec(value);
    if (hex) {
      problems.push(`${line}: hex colour ${hex[0]} in ${property}`);
    }
    const fn = COLOUR_FUNCTION.exec(value);
    if (fn) {
      problems.push(`${line}: colour function ${fn[1]}() in ${property}`);
    }
    if (COLOUR_PROPERTY.test(property.toLowerCase())) {
      const words = value
        .replace(/var\([^)]*\)/g, ' ')
        .toLowerCase()
        .match(/[a-z]+/g);
      for (const word of words ?? []) {
        if (NAMED_COLOURS.has(word)) {
          problems.push(`${line}: named colour ${word} in ${property}`);
        }
      }
    }
  }
  return problems;
}

describe('stylesheets use only --jp-* variables for colours', () => {
  it('finds the stylesheets', () => {
    expect(Object.keys(SHEETS)).toEqual(
      expect.arrayContaining(['base.css', 'index.css'])
    );
    expect(SHEETS['base.css']).toContain('var(--jp-');
  });

  it.each(Object.entries(SHEETS))(
    '%s has no literal colours or non-jp variables',
    (_name, text) => {
      expect(cssViolations(text)).toEqual([]);
    }
  );

  it('catches every kind of violation (the check itself can fail)', () => {
    const bad = `
      /* comments may say #fff, red or rgb(0,0,0) */
      .a { color: #fff; }
      .b { background: rgba(0, 0, 0, 0.5); }
      .c { border: 1px solid red; }
      .d { --my-gap: 4px; margin: var(--my-gap); }
      .e { color: var(--jp-ui-font-color1, hsl(0 0% 0%)); }
      .f {
        box-shadow: 0 0 2px Black;
      }
    `;
    expect(cssViolations(bad)).toEqual([
      '3: hex colour #fff in color',
      '4: colour function rgba() in background',
      '5: named colour red in border',
      '6: defines --my-gap (not a --jp-* variable)',
      '6: uses --my-gap (not a --jp-* variable)',
      '7: colour function hsl() in color',
      '9: named colour black in box-shadow'
    ]);
    const good = `
      #jupyter-codex-panel .jp-codex-Add { color: var(--jp-ui-font-color1); }
      .x { border: 1px solid transparent; background: none; }
      .y { --jp-codex-gap: var(--jp-ui-font-size1); fill: currentColor; }
      .z:hover { border-bottom: 2px solid var(--jp-brand-color1); }
    `;
    expect(cssViolations(good)).toEqual([]);
  });
});
