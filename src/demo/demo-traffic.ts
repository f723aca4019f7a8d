/** The demo's users: a steady trickle of `GET /notes` against production, so its metrics have traffic to measure. */

export interface DemoTraffic {
  /** Requests answered so far. */
  readonly answered: () => number;
  stop(): void;
}

/** One request every `everyMs` (@default 100), never more than 4 at once; failures are ignored (the monitors judge). */
export function startTraffic(url: string, everyMs = 100): DemoTraffic {
  let answered = 0;
  let inFlight = 0;
  const timer = setInterval(() => {
    if (inFlight >= 4) return;
    inFlight++;
    fetch(url, { signal: AbortSignal.timeout(5000) })
      .then(async (res) => {
        await res.text();
        answered++;
      })
      .catch(() => undefined)
      .finally(() => {
        inFlight--;
      });
  }, everyMs);
  timer.unref();
  return { answered: () => answered, stop: () => clearInterval(timer) };
}
