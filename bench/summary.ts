/**
 * The README's performance section from the benchmark of record: the run's header (command,
 * machine, limits) and every target of every scenario with its verdict, read from
 * bench/results/latest.json.
 *
 *   node bench/summary.ts            prints the section
 *   node bench/summary.ts --readme   rewrites README.md between its bench markers (prettier-formatted)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { markdownTable, verdict, type Section } from './lib/table.ts';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const RESULTS = process.env.RESULTS_DIR ?? `${ROOT}bench/results`;
const START = '<!-- bench:start (node bench/summary.ts --readme) -->';
const END = '<!-- bench:end -->';

const { header, sections } = JSON.parse(readFileSync(`${RESULTS}/latest.json`, 'utf8')) as {
  header: string[];
  sections: Section[];
};

const rows = sections.flatMap((s) =>
  s.targets.map((t) => [s.title.replace(/^\d+b?\.\s*/, ''), t.name, t.goal, t.measured, verdict(t.pass)]),
);
const passed = sections.flatMap((s) => s.targets).filter((t) => t.pass === true).length;
const total = sections.flatMap((s) => s.targets).filter((t) => t.pass !== undefined).length;
const body = [
  ...header,
  '',
  `${passed} of ${total} targets met. Every figure, with the peers' and floors' own, is in \`bench/results/latest.md\`.`,
  '',
  markdownTable(['scenario', 'target', 'goal', 'measured', 'verdict'], rows),
].join('\n');

if (process.argv.includes('--readme')) {
  const readme = readFileSync(`${ROOT}README.md`, 'utf8');
  const from = readme.indexOf(START);
  const to = readme.indexOf(END);
  if (from < 0 || to < from) throw new Error(`README.md has no ${START} … ${END} markers`);
  const file = `${ROOT}README.md`;
  const text = `${readme.slice(0, from + START.length)}\n\n${body}\n\n${readme.slice(to)}`;
  // Formatted as the repository's prettier check wants it.
  writeFileSync(file, await format(text, { ...(await resolveConfig(file)), filepath: file }));
  console.log(`README.md: performance section rewritten (${passed} of ${total} targets met)`);
} else {
  console.log(body);
}
