import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { PROCESS_SCHEMA_ID, processJsonSchema } from './json-schema.js';
import { STARTER_PROCESS } from './starter-process.js';

const EXAMPLE = resolve(import.meta.dirname, '../../examples/notes/slipway.yaml');

describe('processJsonSchema', () => {
  const schema = processJsonSchema();

  it('is draft 2020-12 JSON with an id, a title and every top-level key', () => {
    const json = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
    expect(json.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(json.$id).toBe(PROCESS_SCHEMA_ID);
    expect(json.title).toMatch(/slipway/i);
    const properties = json.properties as Record<string, { description?: string }>;
    expect(Object.keys(properties)).toEqual([
      'version',
      'app',
      'roles',
      'identities',
      'policy',
      'artifact',
      'vars',
      'service',
      'environments',
      'phases',
    ]);
    expect(json.required).toEqual(['version', 'app', 'artifact', 'environments', 'phases']);
    expect(json.additionalProperties).toBe(false);
    expect(properties.phases?.description).toBeTruthy();
  });

  it('describes input keys and their defaults for editors', () => {
    const text = JSON.stringify(schema);
    expect(text).toContain('"retries":{"description":"Extra attempts after a failure.","default":0');
    expect(text).toContain('"default":"GET"');
    expect(text).toContain('"default":"20%"');
    expect(text).toContain('"default":{"critical":0,"high":0}');
    expect(text).toContain('"default":["devops","pm"]');
  });

  // An independent reading of the emitted document: rebuild a validator from the JSON Schema alone.
  const fromJson = z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]);

  it('accepts the example and the starter file', () => {
    expect(fromJson.safeParse(parse(readFileSync(EXAMPLE, 'utf8'))).error).toBeUndefined();
    expect(fromJson.safeParse(parse(STARTER_PROCESS)).error).toBeUndefined();
  });

  it('rejects unknown keys and steps with no kind', () => {
    const data = parse(STARTER_PROCESS) as { phases: { steps: Record<string, unknown>[] }[] };
    expect(fromJson.safeParse({ ...data, enviroments: {} }).success).toBe(false);
    const noKind = structuredClone(data);
    noKind.phases[0]?.steps.push({ id: 'nothing' });
    expect(fromJson.safeParse(noKind).success).toBe(false);
  });
});
