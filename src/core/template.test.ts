import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { makeRedactor } from './redact.js';
import { renderTemplate, type TemplateScope, templateRefs } from './template.js';

const scope: TemplateScope = {
  app: 'notes',
  env: 'prod',
  release: 'v2',
  deployment: { id: '7' },
  vars: { PORT: '8080', EVIL: '$(rm -rf /)' },
  secrets: { TOKEN: 'abc123' },
  target: { root: '/srv', current: '/srv/current', shared: '/srv/shared', release: '/srv/releases/v2-d7' },
};

describe('templates', () => {
  it('renders every kind of name, with or without spaces', () => {
    expect(
      renderTemplate('{{app}}-{{ env }}:{{ vars.PORT }}@{{ target.release }}#{{deployment.id}}', scope, 'x'),
    ).toBe('notes-prod:8080@/srv/releases/v2-d7#7');
    expect(templateRefs('a {{ vars.A }} b {{release}}')).toEqual(['vars.A', 'release']);
  });

  it('inserts values verbatim: no second expansion of what they contain', () => {
    expect(renderTemplate('{{ vars.EVIL }}', scope, 'x')).toBe('$(rm -rf /)');
    const withBraces = { ...scope, vars: { A: '{{ secrets.TOKEN }}' } };
    expect(renderTemplate('{{ vars.A }}', withBraces, 'x')).toBe('{{ secrets.TOKEN }}');
  });

  it('names an unknown reference and where it was used', () => {
    expect(() => renderTemplate('{{ vars.NOPE }}', scope, 'deploy.smoke.url')).toThrow(
      'deploy.smoke.url: "{{ vars.NOPE }}" has no value',
    );
    expect(() => renderTemplate('{{ vars }}', scope, 'x')).toThrow(/has no value/);
  });
});

describe('redaction', () => {
  it('removes every occurrence of every secret, longest first', () => {
    const redact = makeRedactor(['abc123', 'abc123-long-form']);
    expect(redact('token abc123-long-form and abc123 again')).toBe('token [redacted] and [redacted] again');
  });

  it('never leaves a secret in any text (property)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 3 }), fc.array(fc.string()), (secret, parts) => {
        const text = parts.join(secret);
        expect(makeRedactor([secret])(text).includes(secret)).toBe(false);
      }),
    );
  });
});
