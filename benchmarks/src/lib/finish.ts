/** The end of every suite: the printed report, and `<name>.md` (and `<name>.svg`) in the results directory. */
import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { environment, environmentLines } from './env.ts';
import type { Suite, SuiteOutcome, SuiteSettings } from './suite.ts';

/** What goes after the table: lines in a code fence (goal lines, comparisons), or a paragraph. */
export type Block = { fence: readonly string[] } | { paragraph: string };

export type Report = {
  name: string;
  /** One sentence under the title of the results file. */
  summary: string;
  /** How the suite measures, the first paragraph of the results file. */
  method: string;
  /** Paragraphs between the method and the table (results file only). */
  preface?: readonly string[];
  table: string;
  /** After the table, in order; printed too. */
  blocks: readonly Block[];
  /** The chart, written as `<name>.svg` and shown with `alt` under the report. */
  svg?: { alt: string; content: string };
  /** `performance.now()` when the suite started, and the load average then (see `suiteClock`). */
  clock: SuiteClock;
};

/** When a suite started, and the machine's load then. */
export type SuiteClock = { started: number; loadBefore: number };

/** Call first thing in a suite's `run`. */
export function suiteClock(): SuiteClock {
  return { started: performance.now(), loadBefore: loadavg()[0] ?? 0 };
}

/** `round` or `rounds`. */
export function rounds(n: number): string {
  return `${n} round${n === 1 ? '' : 's'}`;
}

function blockText(blocks: readonly Block[]): string[] {
  const lines: string[] = [];
  let previous: 'fence' | 'paragraph' | undefined;
  for (const block of blocks) {
    const kind = 'fence' in block ? 'fence' : 'paragraph';
    // Paragraphs print one per line; a blank line sets a group of lines apart.
    if (previous !== undefined && (kind === 'fence' || previous === 'fence')) lines.push('');
    if ('fence' in block) lines.push(...block.fence);
    else lines.push(block.paragraph);
    previous = kind;
  }
  return lines;
}

function blockMarkdown(blocks: readonly Block[]): string[] {
  return blocks.flatMap((block) =>
    'fence' in block
      ? block.fence.length === 0
        ? []
        : ['```', ...block.fence, '```', '']
      : [block.paragraph, ''],
  );
}

/** Prints nothing itself: returns the text to print, and writes the results files when asked to. */
export async function finishReport(settings: SuiteSettings, report: Report): Promise<string> {
  const env = environment();
  const seconds = (performance.now() - report.clock.started) / 1000;
  const loadNote = `Load average (1 min) before / after the suite: ${report.clock.loadBefore.toFixed(2)} / ${(loadavg()[0] ?? 0).toFixed(2)} on ${env.cores} cores.`;
  const blocks = report.blocks.filter((b) => !('fence' in b) || b.fence.length > 0);
  const text = [
    `## ${report.name}${settings.smoke ? ' (smoke run: not a measurement)' : ''}`,
    '',
    report.table,
    '',
    ...blockText(blocks),
    ...(blocks.length > 0 ? [''] : []),
    `Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
  ].join('\n');
  if (settings.resultsDir !== undefined) {
    await mkdir(settings.resultsDir, { recursive: true });
    const markdown = [
      `# ${report.name}`,
      '',
      report.summary,
      '',
      `Command (from the repository root): \`${settings.command}\``,
      '',
      ...environmentLines(env),
      `- Suite time: ${seconds.toFixed(1)} s. ${loadNote}`,
      '',
      report.method,
      '',
      ...(report.preface ?? []).flatMap((p) => [p, '']),
      report.table,
      '',
      ...blockMarkdown(blocks),
      ...(report.svg === undefined ? [] : [`![${report.svg.alt}](./${report.name}.svg)`, '']),
    ].join('\n');
    await writeFile(join(settings.resultsDir, `${report.name}.md`), markdown);
    if (report.svg !== undefined)
      await writeFile(join(settings.resultsDir, `${report.name}.svg`), report.svg.content);
  }
  return text;
}

/** A suite's outcome from its report text and its goal checks. */
export function outcome(text: string, checks: readonly { met: boolean }[] = []): SuiteOutcome {
  return { text, goals: checks.length, missed: checks.filter((c) => !c.met).length };
}

/**
 * What a suite's measurement gives back: its report, and the goals it checked. Without `blocks`, the report
 * shows the goal lines of `checks` and then `info` in a fence, then `notes`; an `svg` given as a string is shown as the suite's
 * name.
 */
export type Measured = Omit<Report, 'name' | 'clock' | 'blocks' | 'svg'> & {
  blocks?: readonly Block[];
  checks?: readonly { met: boolean; line?: string }[];
  /** Lines after the goal lines, in the same fence (comparisons, INFO lines). */
  info?: readonly string[];
  notes?: readonly string[];
  svg?: string | { alt: string; content: string };
};

/**
 * A suite whose `measure` runs the workload and builds the report; the suite's clock, the printed text, the
 * results files and the goal count are the same for every suite.
 */
export function defineSuite(
  name: string,
  description: string,
  measure: (settings: SuiteSettings) => Promise<Measured>,
): Suite {
  return {
    name,
    description,
    run: async (settings) => {
      const clock = suiteClock();
      const { checks = [], info = [], notes = [], blocks, svg, ...report } = await measure(settings);
      const text = await finishReport(settings, {
        ...report,
        name,
        clock,
        blocks: blocks ?? [
          { fence: [...checks.flatMap((c) => (c.line === undefined ? [] : [c.line])), ...info] },
          ...notes.map((paragraph) => ({ paragraph })),
        ],
        ...(svg === undefined ? {} : { svg: typeof svg === 'string' ? { alt: name, content: svg } : svg }),
      });
      return outcome(text, checks);
    },
  };
}
