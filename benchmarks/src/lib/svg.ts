/** A tiny, dependency-free SVG chart writer (grouped bars and lines) for benchmark results. */

export type Series = {
  /** Legend label. */
  name: string;
  /** One value per category (bar chart) or per x label (line chart); `undefined` leaves a gap. */
  values: readonly (number | undefined)[];
};

export type ChartOptions = {
  title: string;
  /** Category names (bar chart) or x-axis labels (line chart). */
  categories: readonly string[];
  series: readonly Series[];
  /** Unit shown on the value axis, e.g. `'req/s'`. */
  unit?: string;
  /** @default 880 */
  width?: number;
  /** @default 420 */
  height?: number;
};

const PALETTE: readonly string[] = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, sans-serif"';

function escapeXml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;');
}

function fmt(n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1);
}

/** A "nice" axis maximum and tick step covering `max` (1, 2 or 5 times a power of ten). */
function niceScale(max: number): { top: number; step: number } {
  if (!(max > 0)) return { top: 1, step: 1 };
  const rough = max / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = ([1, 2, 5, 10].find((m) => m * power >= rough) ?? 10) * power;
  return { top: Math.ceil(max / step) * step, step };
}

type Frame = { left: number; top: number; right: number; bottom: number; width: number; height: number };

function frameOf(options: ChartOptions, legendRows: number): Frame {
  const width = options.width ?? 880;
  const height = options.height ?? 420;
  const frame = { left: 70, top: 40 + legendRows * 18, right: width - 20, bottom: height - 70 };
  return { ...frame, width, height };
}

function axes(options: ChartOptions, frame: Frame, top: number, step: number): string[] {
  const out: string[] = [];
  const y = (v: number): number => frame.bottom - (v / top) * (frame.bottom - frame.top);
  for (let v = 0; v <= top + step / 2; v += step) {
    out.push(
      `<line x1="${frame.left}" x2="${frame.right}" y1="${fmt(y(v))}" y2="${fmt(y(v))}" stroke="#e3e3e3"/>`,
      `<text x="${frame.left - 6}" y="${fmt(y(v) + 4)}" text-anchor="end" font-size="11" fill="#555">${escapeXml(v.toLocaleString('en-US'))}</text>`,
    );
  }
  out.push(
    `<line x1="${frame.left}" x2="${frame.left}" y1="${frame.top}" y2="${frame.bottom}" stroke="#999"/>`,
    `<line x1="${frame.left}" x2="${frame.right}" y1="${frame.bottom}" y2="${frame.bottom}" stroke="#999"/>`,
  );
  if (options.unit !== undefined) {
    const cy = (frame.top + frame.bottom) / 2;
    out.push(
      `<text x="16" y="${fmt(cy)}" transform="rotate(-90 16 ${fmt(cy)})" text-anchor="middle" font-size="12" fill="#333">${escapeXml(options.unit)}</text>`,
    );
  }
  return out;
}

function legend(options: ChartOptions, frame: Frame): string[] {
  const out: string[] = [];
  let x = frame.left;
  let row = 0;
  for (const [i, s] of options.series.entries()) {
    const w = 24 + s.name.length * 7;
    if (x + w > frame.right && x > frame.left) {
      x = frame.left;
      row += 1;
    }
    const y = 34 + row * 18;
    out.push(
      `<rect x="${x}" y="${y - 10}" width="12" height="12" fill="${PALETTE[i % PALETTE.length]}"/>`,
      `<text x="${x + 16}" y="${y}" font-size="12" fill="#333">${escapeXml(s.name)}</text>`,
    );
    x += w;
  }
  return out;
}

function legendRowsOf(options: ChartOptions): number {
  const width = options.width ?? 880;
  let x = 70;
  let rows = 1;
  for (const s of options.series) {
    const w = 24 + s.name.length * 7;
    if (x + w > width - 20 && x > 70) {
      x = 70;
      rows += 1;
    }
    x += w;
  }
  return rows;
}

function wrapLabel(label: string, maxChars: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of label.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > maxChars) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines.slice(0, 3);
}

function document(options: ChartOptions, frame: Frame, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${frame.width}" height="${frame.height}" viewBox="0 0 ${frame.width} ${frame.height}" ${FONT}>`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${frame.left}" y="18" font-size="14" font-weight="600" fill="#222">${escapeXml(options.title)}</text>`,
    ...legend(options, frame),
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function maxValue(options: ChartOptions): number {
  let m = 0;
  for (const s of options.series) for (const v of s.values) if (v !== undefined && v > m) m = v;
  return m;
}

/**
 * A grouped bar chart: one group per category, one bar per series, each bar labelled with its value.
 *
 * @example barChart({ title: 'req/s', categories: ['a', 'b'], series: [{ name: '1 in flight', values: [1, 2] }] })
 */
export function barChart(options: ChartOptions): string {
  const frame = frameOf(options, legendRowsOf(options));
  const { top, step } = niceScale(maxValue(options));
  const body = axes(options, frame, top, step);
  const groups = Math.max(1, options.categories.length);
  const groupWidth = (frame.right - frame.left) / groups;
  const barWidth = Math.min(40, (groupWidth * 0.8) / Math.max(1, options.series.length));
  const plotHeight = frame.bottom - frame.top;
  for (const [g, category] of options.categories.entries()) {
    const groupLeft = frame.left + g * groupWidth + (groupWidth - barWidth * options.series.length) / 2;
    for (const [i, s] of options.series.entries()) {
      const v = s.values[g];
      if (v === undefined) continue;
      const h = (v / top) * plotHeight;
      const x = groupLeft + i * barWidth;
      body.push(
        `<rect x="${fmt(x)}" y="${fmt(frame.bottom - h)}" width="${fmt(barWidth - 2)}" height="${fmt(h)}" fill="${PALETTE[i % PALETTE.length]}"><title>${escapeXml(`${category}, ${s.name}: ${Math.round(v)}`)}</title></rect>`,
        `<text x="${fmt(x + (barWidth - 2) / 2)}" y="${fmt(frame.bottom - h - 3)}" text-anchor="middle" font-size="9" fill="#333">${escapeXml(Math.round(v).toLocaleString('en-US'))}</text>`,
      );
    }
    const cx = frame.left + (g + 0.5) * groupWidth;
    for (const [n, text] of wrapLabel(category, Math.max(8, Math.floor(groupWidth / 6.5))).entries()) {
      body.push(
        `<text x="${fmt(cx)}" y="${frame.bottom + 16 + n * 13}" text-anchor="middle" font-size="11" fill="#333">${escapeXml(text)}</text>`,
      );
    }
  }
  return document(options, frame, body);
}

/**
 * A line chart: one polyline per series over the categories as x positions.
 *
 * @example lineChart({ title: 'p50', categories: ['1', '8', '64'], series: [{ name: 'ky', values: [1, 2, 3] }] })
 */
export function lineChart(options: ChartOptions): string {
  const frame = frameOf(options, legendRowsOf(options));
  const { top, step } = niceScale(maxValue(options));
  const body = axes(options, frame, top, step);
  const n = options.categories.length;
  const x = (i: number): number =>
    n <= 1
      ? (frame.left + frame.right) / 2
      : frame.left + 20 + (i * (frame.right - frame.left - 40)) / (n - 1);
  const y = (v: number): number => frame.bottom - (v / top) * (frame.bottom - frame.top);
  for (const [i, label] of options.categories.entries()) {
    body.push(
      `<text x="${fmt(x(i))}" y="${frame.bottom + 16}" text-anchor="middle" font-size="11" fill="#333">${escapeXml(label)}</text>`,
    );
  }
  for (const [si, s] of options.series.entries()) {
    const color = PALETTE[si % PALETTE.length];
    let path: string[] = [];
    const flush = (): void => {
      if (path.length > 1)
        body.push(`<polyline points="${path.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>`);
      path = [];
    };
    for (const [i, v] of s.values.entries()) {
      if (v === undefined) {
        flush();
        continue;
      }
      path.push(`${fmt(x(i))},${fmt(y(v))}`);
      body.push(
        `<circle cx="${fmt(x(i))}" cy="${fmt(y(v))}" r="3" fill="${color}"><title>${escapeXml(`${s.name}, ${options.categories[i]}: ${fmt(v)}`)}</title></circle>`,
      );
    }
    flush();
  }
  return document(options, frame, body);
}
