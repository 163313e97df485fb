/**
 * Markdown through JupyterLab's rendermime (sanitised, code highlighting, math).
 * While text streams in, re-rendering is throttled.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { ICodeActions, PanelEnvironment } from './context';

const STREAM_THROTTLE_MS = 120;

export function Markdown(props: {
  text: string;
  streaming?: boolean;
  /** Copy / Insert below / Replace selection on each code block (replies). */
  codeActions?: boolean;
}): JSX.Element {
  const env = React.useContext(PanelEnvironment);
  const actions = React.useRef<ICodeActions>(env.codeActions);
  actions.current = env.codeActions;
  const withActions = React.useRef(false);
  withActions.current = !!props.codeActions && !props.streaming;
  const host = React.useRef<HTMLDivElement>(null);
  const renderer = React.useRef<IRenderMime.IRenderer | null>(null);
  const latest = React.useRef(props.text);
  const timer = React.useRef<ReturnType<typeof setTimeout> | null>(null);
  const chain = React.useRef<Promise<void>>(Promise.resolve());
  latest.current = props.text;

  React.useEffect(() => {
    const rendermime = env.rendermime;
    if (!rendermime || !host.current) {
      return;
    }
    const r = rendermime.createRenderer('text/markdown');
    renderer.current = r;
    // Attached as a widget: the renderer typesets math only when attached.
    if (host.current.isConnected) {
      Widget.attach(r, host.current);
    } else {
      host.current.appendChild(r.node);
    }
    return () => {
      if (timer.current !== null) {
        clearTimeout(timer.current);
      }
      renderer.current = null;
      if (r.isAttached && !r.node.isConnected) {
        // React removed the host first: nothing left to detach from.
        r.clearFlag(Widget.Flag.IsAttached);
      }
      r.dispose();
    };
  }, [env.rendermime]);

  React.useEffect(() => {
    const render = () => {
      timer.current = null;
      const r = renderer.current;
      if (!r) {
        return;
      }
      const model = new MimeModel({
        data: { 'text/markdown': latest.current },
        trusted: false
      });
      chain.current = chain.current
        .then(() => (r.isDisposed ? undefined : r.renderModel(model)))
        .then(() => {
          if (withActions.current && !r.isDisposed) {
            addCodeToolbars(r.node, () => actions.current);
          }
        })
        .catch(error =>
          console.warn('Codex: markdown rendering failed', error)
        );
    };
    if (!props.streaming) {
      if (timer.current !== null) {
        clearTimeout(timer.current);
      }
      render();
    } else if (timer.current === null) {
      timer.current = setTimeout(render, STREAM_THROTTLE_MS);
    }
  }, [props.text, props.streaming, env.rendermime]);

  if (!env.rendermime) {
    return <div className="jp-codex-Markdown jp-codex-pre">{props.text}</div>;
  }
  return <div className="jp-codex-Markdown" ref={host} />;
}

const CODE_BUTTONS: ReadonlyArray<
  readonly [string, string, string, (a: ICodeActions, code: string) => Promise<string | null> | string | null]
> = [
  ['Copy', 'Copy the code', 'Copied', (a, code) => a.copy(code)],
  [
    'Insert below',
    'Insert the code as a new cell below the active notebook cell',
    'Inserted',
    (a, code) => a.insertBelow(code)
  ],
  [
    'Replace selection',
    'Replace the selection in the active cell or editor with the code',
    'Replaced',
    (a, code) => a.replaceSelection(code)
  ]
];

/** A toolbar above each fenced code block of a rendered reply (once per block). */
export function addCodeToolbars(
  root: HTMLElement,
  actions: () => ICodeActions
): void {
  for (const pre of Array.from(root.querySelectorAll('pre'))) {
    const previous = pre.previousElementSibling;
    if (previous?.classList.contains('jp-codex-CodeActions')) {
      continue;
    }
    const bar = document.createElement('div');
    bar.className = 'jp-codex-CodeActions';
    bar.setAttribute('role', 'toolbar');
    bar.setAttribute('aria-label', 'Code block actions');
    for (const [label, title, done, run] of CODE_BUTTONS) {
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'jp-Button jp-mod-minimal jp-codex-CodeAction';
      button.textContent = label;
      button.title = title;
      button.dataset.action = label;
      button.onclick = async () => {
        const code = (pre.textContent ?? '').replace(/\n$/, '');
        const error = await run(actions(), code);
        button.textContent = error ? error : `${done} ✓`;
        button.classList.toggle('jp-mod-error', !!error);
        setTimeout(() => {
          button.textContent = label;
          button.classList.remove('jp-mod-error');
        }, 2000);
      };
      bar.appendChild(button);
    }
    pre.parentElement?.insertBefore(bar, pre);
  }
}
