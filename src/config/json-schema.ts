/** The JSON Schema of slipway.yaml (`slipway schema`), generated from the same zod schema that validates it. */

import { z } from 'zod';
import { processSchema } from './schema.js';

/** A URN rather than a URL: the schema is printed by the CLI, not hosted anywhere. */
export const PROCESS_SCHEMA_ID = 'urn:slipway:process-file:1';

export function processJsonSchema(): Record<string, unknown> {
  // `input`: editors check what users write, before defaults are applied.
  const { $schema, ...schema } = z.toJSONSchema(processSchema, { io: 'input', target: 'draft-2020-12' });
  return { $schema, $id: PROCESS_SCHEMA_ID, title: 'Slipway process file (slipway.yaml)', ...schema };
}
