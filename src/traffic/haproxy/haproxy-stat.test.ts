import { describe, expect, it } from 'vitest';
import { effectiveWeight, parseServersState, parseShowStat } from './haproxy-stat.js';

// Captured from HAProxy 2.6 (Debian 12), columns shortened to the first ones plus uweight.
const SHOW_STAT = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,-,uweight,
fe,FRONTEND,,,3,5,9985,10,0,0,0,0,0,,,,,OPEN,,,,,,
app,blue,0,0,2,4,,7,0,0,,0,,0,0,0,0,DRAIN,100,1,0,,100,
app,green,0,0,1,1,,3,0,0,,0,,0,0,0,0,no check,30,1,0,,30,
app,BACKEND,0,0,3,5,,10,0,0,0,0,,0,0,0,0,UP,30,1,0,,30,

`;

const SERVERS_STATE = `1
# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
3 app 1 blue 127.0.0.1 2 8 100 100 1 1 0 2 0 0 0 0 - 9001 - 0 0 - - 0
3 app 2 green 127.0.0.1 2 0 30 100 1 1 0 2 0 0 0 0 - 9002 - 0 0 - - 0
3 app 3 grey 127.0.0.1 2 1 50 100 1 1 0 2 0 0 0 0 - 9003 - 0 0 - - 0

`;

describe('HAProxy runtime API parsers', () => {
  it('reads show stat rows by column name', () => {
    const rows = parseShowStat(SHOW_STAT);
    expect(rows).toHaveLength(4);
    expect(rows[1]).toMatchObject({
      pxname: 'app',
      svname: 'blue',
      scur: '2',
      status: 'DRAIN',
      weight: '100',
      uweight: '100',
    });
    expect(rows[2]).toMatchObject({ svname: 'green', scur: '1', status: 'no check' });
    expect(rows[0]).not.toHaveProperty('-');
  });

  it('reads show servers state and reports drain and maintenance as weight 0', () => {
    const servers = parseServersState(SERVERS_STATE);
    expect(servers.map((s) => [s.server, s.port, s.adminState, s.userWeight, effectiveWeight(s)])).toEqual([
      ['blue', 9001, 8, 100, 0],
      ['green', 9002, 0, 30, 30],
      ['grey', 9003, 1, 50, 0],
    ]);
    expect(servers[0]).toMatchObject({ backend: 'app', address: '127.0.0.1', operationalState: 2 });
  });

  it('finds columns by name, so a version with more or reordered columns still parses', () => {
    const text = '1\n# be_name srv_name extra srv_admin_state srv_uweight srv_port\napp blue x 0 42 80\n';
    expect(parseServersState(text)).toMatchObject([
      { backend: 'app', server: 'blue', userWeight: 42, port: 80 },
    ]);
  });

  it('refuses answers that are not tables (an error message from HAProxy)', () => {
    expect(() => parseShowStat('Permission denied\n')).toThrow(/not a "show stat" answer/);
    expect(() => parseServersState("Can't find backend.\n")).toThrow(/not a "show servers state" answer/);
  });
});
