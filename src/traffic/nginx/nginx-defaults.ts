/** Defaults of the nginx switch, shared by the switch and the process file's schema. */

export const NGINX_DEFAULTS = {
  /** nginx's main config file on Debian and most distributions. */
  config: '/etc/nginx/nginx.conf',
  /** Where Debian's nginx writes its master pid. */
  pidFile: '/run/nginx.pid',
  /** Longest wait for the test command, the reload command and the new workers. */
  timeoutMs: 15_000,
} as const;
