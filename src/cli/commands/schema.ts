/** `slipway schema`: print the JSON Schema of slipway.yaml (for editor completion). */

import { processJsonSchema } from '../../config/json-schema.js';

export async function schemaCommand(): Promise<number> {
  process.stdout.write(`${JSON.stringify(processJsonSchema(), null, 2)}\n`);
  return 0;
}
