'use strict';
// A small static security scan of this release's own code, written as SARIF 2.1.0 to stdout.
// Rules: code evaluation (eval / new Function), shell commands built from strings, SQL built by string
// interpolation, and credentials written into the source. Usage: node scan.cjs > reports/scan.sarif
const fs = require('node:fs');
const path = require('node:path');

const RULES = [
  {
    id: 'notes/code-eval',
    level: 'error',
    text: 'Code evaluation from a string (eval or new Function).',
    pattern: /\beval\s*\(|\bnew\s+Function\s*\(/,
  },
  {
    id: 'notes/shell-string',
    level: 'error',
    text: 'A shell command built from a string (child_process exec/execSync); pass argv to execFile/spawn instead.',
    pattern: /\bexec(Sync)?\s*\(\s*[`'"]/,
  },
  {
    id: 'notes/sql-interpolation',
    level: 'error',
    text: 'SQL built by string interpolation; use ? parameters.',
    pattern: /\b(prepare|exec)\s*\(\s*`[^`]*\$\{/,
  },
  {
    id: 'notes/hardcoded-credential',
    level: 'warning',
    text: 'What looks like a credential written into the source.',
    pattern: /\b(api[_-]?key|secret|password|token)\s*[:=]\s*['"][A-Za-z0-9+/_-]{16,}['"]/i,
  },
];

function sourceFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === 'node_modules' || entry.name === 'test' || entry.name === 'reports') return [];
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return /\.(c|m)?js$/.test(entry.name) && entry.name !== 'scan.cjs' ? [full] : [];
  });
}

const root = __dirname;
const results = [];
for (const file of sourceFiles(root)) {
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    for (const rule of RULES) {
      if (!rule.pattern.test(line)) continue;
      results.push({
        ruleId: rule.id,
        level: rule.level,
        message: { text: rule.text },
        locations: [
          {
            physicalLocation: {
              artifactLocation: { uri: path.relative(root, file) },
              region: { startLine: i + 1 },
            },
          },
        ],
      });
    }
  });
}

const sarif = {
  $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
  version: '2.1.0',
  runs: [
    {
      tool: {
        driver: {
          name: 'notes-scan',
          version: '1.0.0',
          rules: RULES.map((r) => ({
            id: r.id,
            shortDescription: { text: r.text },
            defaultConfiguration: { level: r.level },
          })),
        },
      },
      results,
    },
  ],
};
process.stdout.write(`${JSON.stringify(sarif, null, 2)}\n`);
