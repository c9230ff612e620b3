/** What every benchmark suite gets from the runner and gives back. */

export type SuiteSettings = {
  /** Quick pass for CI: few requests, one round; checks the suite runs end to end, measures nothing. */
  smoke: boolean;
  /** Requests per figure (overrides the suite's default). */
  requests?: number;
  /** Measured rounds (overrides the suite's default). */
  rounds?: number;
  /** Directory to write `<suite>.md` and `<suite>.svg` into; `undefined`: write nothing. */
  resultsDir?: string;
  /** Extra Node flags for client worker processes (e.g. `--cpu-prof`). */
  workerExecArgv: readonly string[];
  /** The command line that reproduces this run, for the results file. */
  command: string;
  /** Progress output (stderr). */
  log(line: string): void;
};

export type SuiteOutcome = {
  /** The report printed to stdout. */
  text: string;
  /** Goals checked, and how many were missed. */
  goals: number;
  missed: number;
};

export type Suite = {
  name: string;
  /** One line: what the suite measures. */
  description: string;
  run(settings: SuiteSettings): Promise<SuiteOutcome>;
};
