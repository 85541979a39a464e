/**
 * The report: one markdown table per scenario (each figure, its ratio to PyWPS, its ratio to the
 * floor), the targets with PASS/MISS, written to bench/results/latest.md and latest.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface Target {
  name: string;
  /** What is asked, e.g. "≥ 100× PyWPS". */
  goal: string;
  /** What was measured, e.g. "37×". */
  measured: string;
  /** undefined: not measured in this run. */
  pass: boolean | undefined;
}

export interface Section {
  id: string;
  title: string;
  /** Lines before the table (how it was measured). */
  notes: string[];
  columns: string[];
  rows: string[][];
  targets: Target[];
  /** The raw figures, for the JSON file. */
  data: unknown;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');

export function markdownTable(columns: string[], rows: string[][]): string {
  return [
    `| ${columns.map(cell).join(' | ')} |`,
    `| ${columns.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ].join('\n');
}

export const verdict = (pass: boolean | undefined) => (pass === undefined ? 'n/a' : pass ? 'PASS' : 'MISS');

export function sectionMarkdown(s: Section): string {
  const parts = [`## ${s.title}`, ''];
  if (s.notes.length) parts.push(...s.notes, '');
  if (s.rows.length) parts.push(markdownTable(s.columns, s.rows), '');
  if (s.targets.length) {
    parts.push(
      markdownTable(
        ['target', 'goal', 'measured', 'verdict'],
        s.targets.map((t) => [t.name, t.goal, t.measured, verdict(t.pass)]),
      ),
      '',
    );
  }
  return parts.join('\n');
}

// Number formats.
export const num = (x: number, digits = 0) =>
  Number.isFinite(x)
    ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })
    : '–';
export const ms = (x: number) =>
  Number.isFinite(x) ? (x < 10 ? `${x.toFixed(2)} ms` : `${x.toFixed(0)} ms`) : '–';
export const mib = (bytes: number) => (Number.isFinite(bytes) ? `${(bytes / 2 ** 20).toFixed(1)} MiB` : '–');
/** Bytes in KiB below 1 MiB, else in MiB. */
export const size = (bytes: number) =>
  Math.abs(bytes) < 2 ** 20 ? `${(bytes / 1024).toFixed(0)} KiB` : mib(bytes);
/** a / b as "12.3×" ("–" when either is missing). */
export const ratio = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(a / b < 10 ? 2 : 1)}×` : '–';
export const pct = (a: number, b: number) =>
  Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${((100 * a) / b).toFixed(0)} %` : '–';
export const errorText = (errors: Record<string, number>) => {
  const parts = Object.entries(errors).filter(([, n]) => n > 0);
  return parts.length ? parts.map(([k, n]) => `${k} ${n}`).join(', ') : '0';
};

export class Report {
  readonly sections: Section[] = [];
  readonly header: string[];
  constructor(header: string[]) {
    this.header = header;
  }

  add(section: Section): void {
    this.sections.push(section);
    process.stdout.write(`\n${sectionMarkdown(section)}`);
  }

  markdown(): string {
    const targets = this.sections.flatMap((s) => s.targets.map((t) => ({ ...t, scenario: s.title })));
    return [
      '# Benchmark of record',
      '',
      ...this.header,
      '',
      ...this.sections.map(sectionMarkdown),
      '## Targets',
      '',
      markdownTable(
        ['scenario', 'target', 'goal', 'measured', 'verdict'],
        targets.map((t) => [t.scenario, t.name, t.goal, t.measured, verdict(t.pass)]),
      ),
      '',
    ].join('\n');
  }

  write(dir: string): { md: string; json: string } {
    mkdirSync(dir, { recursive: true });
    const md = path.join(dir, 'latest.md');
    const json = path.join(dir, 'latest.json');
    writeFileSync(md, this.markdown());
    writeFileSync(json, `${JSON.stringify({ header: this.header, sections: this.sections }, null, 2)}\n`);
    return { md, json };
  }
}
