/** Markdown and console formatting of benchmark results. */

export type Align = 'left' | 'right';

function escapeCell(cell: string): string {
  return cell.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

/**
 * A GitHub-flavoured markdown table, columns padded so it also reads well in a terminal.
 *
 * @example markdownTable(['client', 'req/s'], [['ky', '4100']], ['left', 'right'])
 */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  align: readonly Align[] = [],
): string {
  const cells = [header, ...rows].map((row) => header.map((_, i) => escapeCell(row[i] ?? '')));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => row[i]!.length)));
  const pad = (cell: string, i: number): string =>
    align[i] === 'right' ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!);
  const line = (row: readonly string[]): string => `| ${row.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head!), rule, ...body.map(line)].join('\n');
}

/** Requests per second, rounded to a whole number, thousands separated by commas. */
export function formatRate(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

/** A ratio such as `0.97×`. */
export function formatRatio(value: number): string {
  return `${value.toFixed(2)}×`;
}

/** A PASS/MISS line for a goal `actual <op> target`, with the figures formatted by `format`. */
export function goal(
  label: string,
  actual: number,
  op: '≤' | '<' | '≥' | '>',
  target: number,
  format: (n: number) => string = formatRatio,
): { line: string; met: boolean } {
  const met =
    op === '≤'
      ? actual <= target
      : op === '<'
        ? actual < target
        : op === '≥'
          ? actual >= target
          : actual > target;
  return {
    line: `${met ? 'PASS' : 'MISS'}  ${label}: ${format(actual)} (goal ${op} ${format(target)})`,
    met,
  };
}
