/** Turns a process's backup items into what the backup code works on (templates rendered, paths absolute), for backups and restores. */

import path from 'node:path';
import type { BackupItemSpec, Process } from '../core/process.js';
import { renderTemplate, type TemplateScope } from '../core/template.js';
import type { BackupSource } from './create-backup.js';
import { type TargetLookup, targetLookup } from './targets.js';

const SECRET_REF = /^\{\{\s*secrets\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$/;

export function backupSources(
  items: readonly BackupItemSpec[],
  scope: TemplateScope,
  baseDir: string,
  where: string,
): BackupSource[] {
  return items.map((item, i): BackupSource => {
    const at = `${where}.items[${i}]`;
    if (item.kind !== 'postgres') {
      return {
        kind: item.kind,
        path: path.resolve(baseDir, renderTemplate(item.path, scope, at)),
        ...(item.optional ? { optional: true } : {}),
      };
    }
    const secret = item.password === undefined ? undefined : SECRET_REF.exec(item.password)?.[1];
    return {
      kind: 'postgres',
      url: renderTemplate(item.url, scope, `${at}.url`),
      ...(item.password === undefined
        ? {}
        : { password: renderTemplate(item.password, scope, `${at}.password`) }),
      ...(secret ? { passwordSecret: secret } : {}),
    };
  });
}

/**
 * The databases the backup steps of `environment`'s phases name, rendered in `scope`: the only places verify and
 * restore connect to or write to (with the configured passwords), whatever a manifest says.
 */
export function configuredTargets(proc: Process, environment: string, scope: TemplateScope): TargetLookup {
  const sources: BackupSource[] = [];
  for (const phase of proc.phases) {
    if (phase.environments && !phase.environments.includes(environment)) continue;
    for (const step of phase.steps) {
      if (step.kind !== 'backup') continue;
      for (const spec of step.items) {
        try {
          sources.push(...backupSources([spec], scope, proc.baseDir, step.id));
        } catch {
          // A template without a value here (e.g. a deployment's release): not a database this can name.
        }
      }
    }
  }
  return targetLookup(sources);
}
