/**
 * `npm run bench [-- --only a,b]`: runs the benchmark sections, prints one Markdown table and writes
 * bench/results/latest.json. Benchmarks are not tests: each compares Slipway with a baseline measured in
 * the same run, since this machine is noisy, and states the target it is judged against.
 */

import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { backupSection } from './backup.js';
import { BIN, REPO, round } from './bench-util.js';
import { detectionSection, falseAlarmSection } from './detection.js';
import type { BenchSection, SectionResult } from './section.js';
import { engineSection, historySection } from './sections/core.js';
import { fleetSection } from './sections/fleet.js';
import { zeroDowntimeSection } from './zero-downtime.js';
import { zeroDowntimeDeploySection } from './zero-downtime-deploy.js';

// Cheap sections first, so a quick look needs no patience; every section is one line here.
const SECTIONS: readonly BenchSection[] = [
  engineSection,
  historySection,
  zeroDowntimeSection,
  zeroDowntimeDeploySection,
  fleetSection,
  backupSection,
  detectionSection,
  falseAlarmSection,
];

const { values } = parseArgs({ options: { only: { type: 'string' } } });
const wanted = values.only?.split(',').map((s) => s.trim());
const unknown = wanted?.filter((w) => !SECTIONS.some((s) => s.name === w)) ?? [];
if (unknown.length > 0) {
  console.error(
    `unknown section(s): ${unknown.join(', ')}; known: ${SECTIONS.map((s) => s.name).join(', ')}`,
  );
  process.exit(2);
}
if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run "npm run build" (npm run bench does it first)`);
const began = performance.now();

const results: Record<string, SectionResult> = {};
for (const section of SECTIONS.filter((s) => !wanted || wanted.includes(s.name))) {
  console.log(`${section.name}: ${section.title}…`);
  const t = performance.now();
  results[section.name] = await section.run();
  console.log(`  done in ${round((performance.now() - t) / 1000, 1)} s`);
}

const table = [
  '| what | Slipway | baseline | ratio / target | pass? |',
  '|---|---|---|---|---|',
  ...Object.values(results).flatMap((r) => r.rows),
].join('\n');
const result = {
  at: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  totalSeconds: round((performance.now() - began) / 1000, 1),
  pass: Object.fromEntries(Object.values(results).flatMap((r) => Object.entries(r.pass))),
  ...Object.fromEntries(Object.entries(results).map(([name, r]) => [name, r.json])),
};
const out = path.join(REPO, 'bench', 'results', 'latest.json');
await mkdir(path.dirname(out), { recursive: true });
await writeFile(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`\n${table}\n`);
console.log(`pass: ${JSON.stringify(result.pass)}`);
console.log(`\nwritten to ${path.relative(REPO, out)} in ${result.totalSeconds}s`);
