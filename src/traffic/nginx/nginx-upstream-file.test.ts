import { describe, expect, it } from 'vitest';
import { parseUpstreamFile, renderUpstreamFile } from './nginx-upstream-file.js';

const blue = { id: 'web1-blue', address: '10.0.0.5', port: 8080 };
const green = { id: 'web1-green', address: '::1', port: 8081 };

describe('nginx upstream file', () => {
  it('renders weights as nginx weight=, 0 as down, IPv6 in brackets, each line marked with its backend', () => {
    expect(
      renderUpstreamFile('app', [
        { backend: blue, weight: 90 },
        { backend: green, weight: 0 },
      ]),
    ).toBe(
      '# Managed by Slipway for nginx upstream "app": every traffic switch rewrites this file.\n' +
        '# Do not edit: include it inside `upstream <name> { ... }`. Weight 0 is written as "down".\n' +
        'server 10.0.0.5:8080 weight=90; # slipway-backend web1-blue\n' +
        'server [::1]:8081 down; # slipway-backend web1-green\n',
    );
  });

  it('reads back what it renders', () => {
    const text = renderUpstreamFile('app', [
      { backend: blue, weight: 100 },
      { backend: green, weight: 0 },
    ]);
    expect(parseUpstreamFile(text, 'up.conf')).toEqual([
      { id: 'web1-blue', server: '10.0.0.5:8080', weight: 100 },
      { id: 'web1-green', server: '[::1]:8081', weight: 0 },
    ]);
  });

  it('ignores blank lines and comments, tolerates extra spaces', () => {
    expect(
      parseUpstreamFile('\n# hi\n  server 1.2.3.4:80   weight=7 ;   #  slipway-backend  a  \n', 'f'),
    ).toEqual([{ id: 'a', server: '1.2.3.4:80', weight: 7 }]);
  });

  it.each([
    ['a line without the marker', 'server 1.2.3.4:80 weight=5;'],
    ['an extra parameter', 'server 1.2.3.4:80 weight=5 max_fails=3; # slipway-backend a'],
    ['a directive', 'keepalive 16;'],
    ['a weight Slipway never writes', 'server 1.2.3.4:80 weight=1000; # slipway-backend a'],
  ])('refuses %s with file:line', (_label, line) => {
    expect(() => parseUpstreamFile(`# header\n${line}\n`, '/etc/nginx/up.conf')).toThrow(
      expect.objectContaining({
        code: 'SLW_TRAFFIC_FAILED',
        message: expect.stringContaining('/etc/nginx/up.conf:2: not a line Slipway writes'),
      }),
    );
  });
});
