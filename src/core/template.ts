/** `{{ name }}` templates: the one way values reach URLs, argv elements, env values and config files. Pure. */

import { SlipwayError } from './errors.js';

/** The names a template may use. `secrets` is present only where secrets are allowed. */
export interface TemplateScope {
  readonly app: string;
  readonly env: string;
  readonly release: string;
  readonly deployment: { readonly id: string };
  readonly vars: Readonly<Record<string, string>>;
  readonly secrets?: Readonly<Record<string, string>>;
  readonly target: {
    readonly root: string;
    readonly current: string;
    readonly shared: string;
    readonly release: string;
  };
  /** The host a fleet step runs for (environments with `hosts`). */
  readonly host?: { readonly name: string; readonly address: string; readonly servicePort?: string };
  /** The slot a blue-green or canary step works on (`port` as text). */
  readonly slot?: { readonly name: string; readonly port: string };
}

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\}\}/g;

/** Names referenced by a template, e.g. ["vars.PORT", "release"]. */
export function templateRefs(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1] as string);
}

/** Replaces every placeholder; an unknown name is an error naming it and where it was used. */
export function renderTemplate(text: string, scope: TemplateScope, where: string): string {
  return text.replace(PLACEHOLDER, (_all, name: string) => {
    const value = lookup(scope, name);
    if (value === undefined) {
      throw new SlipwayError('SLW_CONFIG_INVALID', `${where}: "{{ ${name} }}" has no value`, {
        hint: name.startsWith('secrets.')
          ? 'declare the secret under the environment\'s "secrets"'
          : 'declare it under "vars" (top level or the environment), or pass --var NAME=VALUE',
      });
    }
    return value;
  });
}

function lookup(scope: TemplateScope, name: string): string | undefined {
  let node: unknown = scope;
  for (const part of name.split('.')) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, part)) return undefined;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'string' ? node : undefined;
}

export function renderRecord(
  record: Readonly<Record<string, string>>,
  scope: TemplateScope,
  where: string,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(record)) out[k] = renderTemplate(v, scope, `${where}.${k}`);
  return out;
}
