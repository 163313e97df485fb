/**
 * Markdown through JupyterLab's rendermime (sanitised, code highlighting, math).
 * While text streams in, re-rendering is throttled.
 */
import { MimeModel } from '@jupyterlab/rendermime';
import { IRenderMime } from '@jupyterlab/rendermime-interfaces';
import { Widget } from '@lumino/widgets';
import * as React from 'react';

import { PanelEnvironment } from './context';

const STREAM_THROTTLE_MS = 120;

export function Markdown(props: {
  text: string;
  streaming?: boolean;
}): JSX.Element {
  const env = React.useContext(PanelEnvironment);
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
