/** A separate process racing others on one SQLite store, as concurrent `slipway` commands would. */

// Usage: store-sqlite-worker.ts <db> <name> create | append-once <deploymentId> | append <deploymentId> <count>
// Prints "ready" once the store is open, waits for a line on stdin, races, prints one JSON result line.
// append-once reads where the log ends before "ready", so every worker appends after the same seq.

import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { isSlipwayError } from '../src/core/errors.js';
import { openSqliteStore } from '../src/store/sqlite/sqlite-store.js';
import { createdEvent, event } from './store-fixtures.js';

const [dbPath, name, mode, idArg, countArg] = process.argv.slice(2);
if (dbPath === undefined || name === undefined)
  throw new Error('usage: <db> <name> create|append <id> <count>');

const store = await openSqliteStore(dbPath);
const id = Number(idArg);
const seenSeq = mode === 'append-once' ? (await store.getDeployment(id))?.lastSeq : undefined;
const input = createInterface({ input: process.stdin });
process.stdout.write('ready\n');
await once(input, 'line');
input.close();

try {
  if (mode === 'create') {
    const { deployment } = await store.createDeployment(
      createdEvent({ environment: 'production', release: name }),
    );
    report({ ok: true, id: deployment.id });
  } else if (mode === 'append-once') {
    await store.append(id, seenSeq!, [event('phase.started', { phase: name })]);
    report({ ok: true });
  } else {
    let retries = 0;
    for (let i = 0; i < Number(countArg); i++) {
      // An optimistic writer: read where the log ends, append after it, re-read when someone was faster.
      for (;;) {
        const { lastSeq } = (await store.getDeployment(id))!;
        try {
          await store.append(id, lastSeq, [
            event('step.output', { phase: 'p', step: 's', text: `${name}-${i}` }),
          ]);
          break;
        } catch (err) {
          if (!isSlipwayError(err) || err.code !== 'SLW_CONCURRENT_APPEND') throw err;
          retries++;
        }
      }
    }
    report({ ok: true, retries });
  }
} catch (err) {
  report(
    isSlipwayError(err)
      ? { ok: false, code: err.code, message: err.message }
      : { ok: false, message: String(err) },
  );
} finally {
  await store.close();
}

function report(result: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
