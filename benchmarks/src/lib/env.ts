import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** The machine and versions a result was measured with. */
export type Environment = {
  date: string;
  /** The commit measured: short hash, `+dirty` when the working tree had changes; `unknown` outside git. */
  commit: string;
  node: string;
  embeddedUndici: string;
  npmUndici: string;
  ky: string;
  cpu: string;
  cores: number;
  platform: string;
};

function versionOf(pkg: string): string {
  // Found from a module of the package: ky's exports map does not expose its package.json, and resolving
  // (never loading) undici's entry point keeps this process free of its global dispatcher.
  const main = require.resolve(pkg === 'ky' ? 'ky' : 'undici/lib/dispatcher/agent.js');
  const root = main.slice(0, main.lastIndexOf(`/node_modules/${pkg}/`) + `/node_modules/${pkg}/`.length);
  return (require(`${root}package.json`) as { version: string }).version;
}

/** `abc1234` or `abc1234+dirty` (tracked files changed, results files aside), read once per process. */
let commitCache: string | undefined;
function commit(): string {
  if (commitCache !== undefined) return commitCache;
  const cwd = fileURLToPath(new URL('../../..', import.meta.url));
  try {
    const hash = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd, encoding: 'utf8' }).trim();
    // The suites write benchmarks/results/ as they go: those changes are the run's output, not what it measured.
    const changed = execFileSync(
      'git',
      ['status', '--porcelain', '--untracked-files=no', '--', '.', ':(exclude)benchmarks/results'],
      { cwd, encoding: 'utf8' },
    ).trim();
    commitCache = changed === '' ? hash : `${hash}+dirty`;
  } catch {
    commitCache = 'unknown';
  }
  return commitCache;
}

export function environment(): Environment {
  const cpuList = cpus();
  return {
    date: new Date().toISOString(),
    commit: commit(),
    node: process.version,
    embeddedUndici: process.versions.undici ?? 'unknown',
    npmUndici: versionOf('undici'),
    ky: versionOf('ky'),
    cpu: cpuList[0]?.model.trim() ?? 'unknown',
    cores: cpuList.length,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Markdown bullet lines describing the environment. */
export function environmentLines(env: Environment): string[] {
  return [
    `- Date: ${env.date}; commit ${env.commit}`,
    `- Node ${env.node} (embedded undici ${env.embeddedUndici}), npm undici ${env.npmUndici}, ky ${env.ky}`,
    `- ${env.cpu}, ${env.cores} cores, ${env.platform}`,
  ];
}
