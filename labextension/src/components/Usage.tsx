/**
 * An account's remaining quota: one bar per window, and the history of both
 * windows as a chart with the switch threshold.
 */
import * as React from 'react';

import { remaining, resetsIn, windowLabel } from '../model/format';
import { Codex } from '../tokens';

export function UsageBar(props: {
  label: string;
  used: number | null | undefined;
  windowMinutes?: number | null;
  resetsAt?: number | null;
  threshold: number;
}): JSX.Element {
  const left = remaining(props.used);
  const level =
    left === null
      ? 'unknown'
      : left <= 0
        ? 'empty'
        : left < props.threshold
          ? 'low'
          : 'ok';
  return (
    <div className="jp-codex-UsageBar" data-remaining={left ?? ''}>
      <div className="jp-codex-UsageBarLabel">
        <span>
          {props.label}
          {props.windowMinutes ? ` (${windowLabel(props.windowMinutes)})` : ''}
        </span>
        <span>
          {left === null ? 'unknown' : `${left}% left`}
          {props.resetsAt ? ` · ${resetsIn(props.resetsAt)}` : ''}
        </span>
      </div>
      <div
        className="jp-codex-UsageTrack"
        role="meter"
        aria-label={`${props.label} remaining`}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={left ?? undefined}
      >
        <div
          className={`jp-codex-UsageFill jp-mod-${level}`}
          style={{ width: `${left ?? 0}%` }}
        />
      </div>
    </div>
  );
}

/**
 * Remaining quota over time, both windows, as an SVG chart with a 0–100 %
 * axis, the first and last times, the latest values, and the switch
 * threshold as a labelled dashed line.
 */
export function UsageChart(props: {
  points: readonly Codex.IUsagePoint[];
  threshold?: number;
}): JSX.Element | null {
  const points = props.points;
  if (points.length < 2) {
    return (
      <div className="jp-codex-Dim jp-codex-ChartEmpty">
        Not enough history for a chart yet.
      </div>
    );
  }
  const left = 34;
  const right = 40;
  const top = 8;
  const bottom = 18;
  const w = 320;
  const h = 120;
  const plotW = w - left - right;
  const plotH = h - top - bottom;
  const t0 = points[0].time;
  const t1 = points[points.length - 1].time;
  const span = Math.max(1, t1 - t0);
  const x = (t: number) => left + ((t - t0) / span) * plotW;
  const y = (leftPercent: number) => top + plotH - (leftPercent / 100) * plotH;
  const series = (key: 'primary' | 'secondary') =>
    points
      .filter(p => typeof p[key] === 'number')
      .map(p => ({ t: p.time, left: 100 - (p[key] as number) }));
  const line = (key: 'primary' | 'secondary') =>
    series(key)
      .map(p => `${x(p.t).toFixed(1)},${y(p.left).toFixed(1)}`)
      .join(' ');
  const last = (key: 'primary' | 'secondary') => {
    const s = series(key);
    return s.length ? s[s.length - 1].left : null;
  };
  const lastPrimary = last('primary');
  const lastSecondary = last('secondary');
  const threshold = props.threshold;
  const time = (t: number) =>
    new Date(t * 1000).toLocaleString(undefined, {
      month: 'short',
      day: 'numeric',
      hour: '2-digit',
      minute: '2-digit'
    });
  const summary =
    `Remaining quota from ${time(t0)} to ${time(t1)}: 5-hour window now ${lastPrimary ?? '?'}% left, ` +
    `weekly now ${lastSecondary ?? '?'}% left` +
    (threshold !== undefined ? `; switch threshold ${threshold}%.` : '.');
  // Keep the two end labels apart when the values are close.
  const labelY = (value: number | null, other: number | null, below: boolean) =>
    value === null
      ? 0
      : y(value) +
        (other !== null && Math.abs(y(value) - y(other)) < 10
          ? below
            ? 6
            : -4
          : 3);
  return (
    <figure className="jp-codex-Chart">
      <figcaption className="jp-codex-ChartLegend">
        <span className="jp-mod-primary">5-hour left</span>
        <span className="jp-mod-secondary">weekly left</span>
        {threshold !== undefined && (
          <span className="jp-mod-threshold">switch at {threshold}%</span>
        )}
      </figcaption>
      <svg
        className="jp-codex-UsageChart"
        viewBox={`0 0 ${w} ${h}`}
        role="img"
        aria-label={summary}
      >
        <title>{summary}</title>
        {[0, 50, 100].map(v => (
          <g key={v}>
            <line
              className="jp-codex-ChartGrid"
              x1={left}
              x2={left + plotW}
              y1={y(v)}
              y2={y(v)}
            />
            <text
              className="jp-codex-ChartAxis"
              x={left - 4}
              y={y(v) + 3}
              textAnchor="end"
            >
              {v}%
            </text>
          </g>
        ))}
        <line
          className="jp-codex-ChartAxisLine"
          x1={left}
          x2={left}
          y1={top}
          y2={top + plotH}
        />
        <line
          className="jp-codex-ChartAxisLine"
          x1={left}
          x2={left + plotW}
          y1={top + plotH}
          y2={top + plotH}
        />
        <text
          className="jp-codex-ChartAxis"
          x={left}
          y={h - 4}
          textAnchor="start"
        >
          {time(t0)}
        </text>
        <text
          className="jp-codex-ChartAxis"
          x={left + plotW}
          y={h - 4}
          textAnchor="end"
        >
          {time(t1)}
        </text>
        {threshold !== undefined && (
          <g className="jp-codex-ChartThreshold">
            <line
              x1={left}
              x2={left + plotW}
              y1={y(threshold)}
              y2={y(threshold)}
            />
            <text x={left + 2} y={y(threshold) - 2}>
              switch at {threshold}%
            </text>
          </g>
        )}
        <polyline className="jp-codex-ChartPrimary" points={line('primary')} />
        <polyline
          className="jp-codex-ChartSecondary"
          points={line('secondary')}
        />
        {lastPrimary !== null && (
          <text
            className="jp-codex-ChartValue jp-mod-primary"
            x={left + plotW + 4}
            y={labelY(lastPrimary, lastSecondary, lastPrimary < (lastSecondary ?? 0))}
          >
            {lastPrimary}%
          </text>
        )}
        {lastSecondary !== null && (
          <text
            className="jp-codex-ChartValue jp-mod-secondary"
            x={left + plotW + 4}
            y={labelY(lastSecondary, lastPrimary, lastSecondary <= (lastPrimary ?? 0))}
          >
            {lastSecondary}%
          </text>
        )}
      </svg>
    </figure>
  );
}
