// Small SVG charts: horizontal bars (categories), vertical bars, a line over time, and progress bars. Each answers an
// <svg> (or element) with a <title> and a text alternative, so a screen reader gets the figures too.
const NS = 'http://www.w3.org/2000/svg';
const palette = ['#1f5fbf', '#2e8b57', '#c0661a', '#8a3ffc', '#b3261e', '#00798c', '#6b6b6b'];

function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, String(v));
  for (const c of children) if (c !== null && c !== undefined) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function frame(title, width, height, description) {
  const id = 'chart-' + Math.random().toString(36).slice(2);
  return svg('svg', {
    class: 'chart', role: 'img', viewBox: `0 0 ${width} ${height}`, width, height,
    'aria-labelledby': `${id}-t ${id}-d`,
  }, svg('title', { id: `${id}-t` }, title), svg('desc', { id: `${id}-d` }, description));
}

const fmt = (v, digits) => Number(v).toLocaleString('en-GB', { maximumFractionDigits: digits ?? (Math.abs(v) < 10 ? 2 : 0) });

/** A label shortened to the room it has: a long one keeps its end ("…investment.phone"), the full text stays in the
 * element's title. */
function fit(label, room) {
  const chars = Math.floor((room - 10) / 6.5);
  return label.length <= chars ? label : '…' + label.slice(label.length - chars + 1);
}

/** Horizontal bars, one per { label, value }, largest scale first as given. */
export function barChart(title, items, { width = 420, format = fmt, color } = {}) {
  const rowHeight = 26;
  // Room for the longest label (about 6.5 px a character at 12 px), within reason.
  const labelWidth = Math.min(width * 0.5, Math.max(70, 10 + 6.5 * Math.max(0, ...items.map(i => String(i.label).length))));
  const height = Math.max(1, items.length) * rowHeight + 10;
  const max = Math.max(0, ...items.map(i => i.value)) || 1;
  const chart = frame(title, width, height, items.map(i => `${i.label}: ${format(i.value)}`).join('; ') || 'no data');
  chart.dataset.chart = 'bar';
  if (items.length === 0) {
    chart.append(svg('text', { x: 4, y: 18, class: 'muted' }, 'No data'));
    return chart;
  }
  const barSpace = width - labelWidth - 70;
  items.forEach((item, i) => {
    const y = 5 + i * rowHeight;
    const w = Math.max(1, (item.value / max) * barSpace);
    chart.append(
      svg('text', { x: labelWidth - 6, y: y + 16, 'text-anchor': 'end', 'font-size': 12 }, fit(String(item.label), labelWidth), svg('title', {}, String(item.label))),
      svg('rect', { x: labelWidth, y: y + 3, width: w, height: rowHeight - 8, rx: 2, fill: color ?? palette[i % palette.length], 'data-label': item.label, 'data-value': item.value }),
      svg('text', { x: labelWidth + w + 5, y: y + 16, 'font-size': 12 }, format(item.value)));
  });
  return chart;
}

/** Vertical grouped bars: groups (x) × series, e.g. contacted and control per segment. */
export function columnChart(title, groups, series, { width = 480, height = 220, format = fmt } = {}) {
  const pad = { left: 44, right: 8, top: 10, bottom: 44 };
  const values = groups.flatMap(g => series.map(s => g.values[s] ?? 0));
  const top = Math.max(0, ...values);
  const max = top || 1;
  const chart = frame(title, width, height,
    groups.map(g => `${g.label}: ` + series.map(s => `${s} ${format(g.values[s] ?? 0)}`).join(', ')).join('; ') || 'no data');
  chart.dataset.chart = 'columns';
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  chart.append(svg('line', { class: 'axis', x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH }));
  chart.append(svg('text', { x: pad.left - 4, y: pad.top + 10, 'text-anchor': 'end', 'font-size': 11 }, format(top)));
  const groupW = plotW / Math.max(1, groups.length);
  const barW = Math.max(4, (groupW - 12) / Math.max(1, series.length));
  groups.forEach((g, gi) => {
    series.forEach((s, si) => {
      const v = g.values[s] ?? 0;
      const bh = (v / max) * plotH;
      chart.append(svg('rect', {
        x: pad.left + gi * groupW + 6 + si * barW, y: pad.top + plotH - bh, width: barW - 2, height: Math.max(0, bh),
        fill: palette[si % palette.length], 'data-label': `${g.label} ${s}`, 'data-value': v,
      }, svg('title', {}, `${g.label}, ${s}: ${format(v)}`)));
    });
    chart.append(svg('text', { x: pad.left + gi * groupW + groupW / 2, y: height - pad.bottom + 16, 'text-anchor': 'middle', 'font-size': 11 }, g.label));
  });
  series.forEach((s, si) => {
    const x = pad.left + si * 110;
    chart.append(svg('rect', { x, y: height - 16, width: 10, height: 10, fill: palette[si % palette.length] }),
      svg('text', { x: x + 14, y: height - 7, 'font-size': 11 }, s));
  });
  return chart;
}

/** A line over time from [{ label, value }] in order. */
export function lineChart(title, points, { width = 480, height = 180, format = fmt } = {}) {
  const pad = { left: 44, right: 10, top: 10, bottom: 26 };
  const chart = frame(title, width, height, points.map(p => `${p.label}: ${format(p.value)}`).join('; ') || 'no data');
  chart.dataset.chart = 'line';
  if (points.length === 0) {
    chart.append(svg('text', { x: 4, y: 18 }, 'No data'));
    return chart;
  }
  const max = Math.max(...points.map(p => p.value)) || 1;
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const x = i => pad.left + (points.length === 1 ? plotW / 2 : (i / (points.length - 1)) * plotW);
  const y = v => pad.top + plotH - (v / max) * plotH;
  chart.append(
    svg('line', { class: 'axis', x1: pad.left, y1: pad.top + plotH, x2: width - pad.right, y2: pad.top + plotH }),
    svg('text', { x: pad.left - 4, y: pad.top + 10, 'text-anchor': 'end', 'font-size': 11 }, format(max)),
    svg('polyline', { fill: 'none', stroke: palette[0], 'stroke-width': 2, points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(' ') }),
    svg('text', { x: pad.left, y: height - 6, 'font-size': 11 }, points[0].label),
    svg('text', { x: width - pad.right, y: height - 6, 'text-anchor': 'end', 'font-size': 11 }, points[points.length - 1].label));
  points.forEach((p, i) => chart.append(svg('circle', { cx: x(i), cy: y(p.value), r: 3, fill: palette[0], 'data-label': p.label, 'data-value': p.value },
    svg('title', {}, `${p.label}: ${format(p.value)}`))));
  return chart;
}

/** A labelled progress bar (HTML, with role=progressbar). */
export function progressBar(label, value, max) {
  const share = max > 0 ? Math.min(1, value / max) : 0;
  const wrap = document.createElement('div');
  wrap.className = 'progress';
  wrap.setAttribute('role', 'progressbar');
  wrap.setAttribute('aria-label', label);
  wrap.setAttribute('aria-valuemin', '0');
  wrap.setAttribute('aria-valuemax', String(max));
  wrap.setAttribute('aria-valuenow', String(value));
  const bar = document.createElement('span');
  bar.style.width = `${(share * 100).toFixed(1)}%`;
  wrap.append(bar);
  return wrap;
}

/** { key: count } as chart items, largest first. */
export function itemsOf(counts, limit = 12) {
  return Object.entries(counts ?? {}).map(([label, value]) => ({ label: label || '(none)', value: Number(value) }))
    .sort((a, b) => b.value - a.value).slice(0, limit);
}
