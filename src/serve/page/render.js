// Small pieces the dashboard is drawn with. Text is always set as text.

const SVG = 'http://www.w3.org/2000/svg';

/**
 * One element: `props` sets properties (className, dataset) or, for SVG, `attrs`;
 * children are nodes or strings (set as text).
 */
export function el(tag, props = {}, children = []) {
  const node = props.svg ? document.createElementNS(SVG, tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'svg') continue;
    if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'attrs') for (const [a, v] of Object.entries(value)) node.setAttribute(a, v);
    else node[key] = value;
  }
  for (const child of [children].flat()) node.append(child);
  return node;
}

/** A progress bar with its percentage written on it. */
export function bar(done, total) {
  const percent = total > 0 ? Math.min(100, (100 * done) / total) : done > 0 ? 100 : 0;
  const fill = el('span');
  fill.style.width = `${percent}%`;
  return el('div', { className: 'bar', title: `${done} / ${total}`, dataset: { percent: percent.toFixed(1) } }, [fill, el('em', {}, `${percent.toFixed(1)} %`)]);
}

export function formatRate(rowsPerSec) {
  return rowsPerSec == null ? '' : `${Math.round(rowsPerSec).toLocaleString()} rows/s`;
}

export function formatEta(seconds) {
  if (seconds == null) return '';
  if (seconds < 90) return `ETA ${Math.round(seconds)} s`;
  if (seconds < 5400) return `ETA ${Math.round(seconds / 60)} min`;
  return `ETA ${(seconds / 3600).toFixed(1)} h`;
}

/** The rate samples as an SVG polyline in a width × height box, time left to right. */
export function ratePoints(samples, width, height) {
  if (samples.length === 0) return { points: '', max: 0 };
  const times = samples.map((s) => Date.parse(s.at));
  const start = times[0];
  const span = Math.max(1, times.at(-1) - start);
  const max = Math.max(1, ...samples.map((s) => s.rowsPerSec));
  const points = samples
    .map((s, i) => `${((times[i] - start) / span) * width},${height - (s.rowsPerSec / max) * (height - 4)}`)
    .join(' ');
  return { points, max };
}
