/** The seams: small interfaces the engine depends on. Implementations live in their own folders. */

import type { AnyNewEvent, AnyStoredEvent, NewEvent } from './events.js';
import type { CommandSpec } from './process.js';
import type { DeploymentState } from './state.js';

// ───────────────────────────── Store ─────────────────────────────

/** The projection of one deployment kept beside its log for fast listing (derived from the events). */
export interface DeploymentRecord {
  readonly id: number;
  readonly app: string;
  readonly environment: string;
  readonly release: string;
  readonly state: DeploymentState;
  readonly startedBy: string;
  /** ISO-8601 UTC. */
  readonly createdAt: string;
  readonly updatedAt: string;
  readonly finishedAt: string | null;
  /** Why it failed or rolled back, when it did. */
  readonly reason: string | null;
  /** Sequence number of the last event. */
  readonly lastSeq: number;
  /** Started as an emergency (outside a window or in a freeze, with extra approvals). */
  readonly emergency: boolean;
}

export interface ListDeploymentsFilter {
  readonly app?: string;
  readonly environment?: string;
  readonly states?: readonly DeploymentState[];
  /** Newest first. @default 50 */
  readonly limit?: number;
}

export type LeaseResult =
  | { readonly acquired: true }
  | { readonly acquired: false; readonly holder: string; readonly expiresAt: string };

export interface ChainVerification {
  readonly ok: boolean;
  readonly eventsChecked: number;
  /** Hash of the last event: publish it to detect truncation later. */
  readonly headHash: string;
  /** The first event that does not match, when `ok` is false. */
  readonly firstBad?: {
    readonly id: number;
    readonly deploymentId: number;
    readonly seq: number;
    readonly problem: string;
  };
}

export interface ReleaseRecord {
  readonly app: string;
  readonly release: string;
  readonly sha256: string;
  readonly sizeBytes: number;
  readonly createdAt: string;
}

/**
 * Durable storage of deployments. Every write is atomic; `append` is optimistic (it fails with
 * SLW_CONCURRENT_APPEND if the log no longer ends at `expectedSeq`), so two runners can never interleave.
 */
export interface Store {
  /**
   * Creates a deployment with its `deployment.created` event in one transaction. Refuses with
   * SLW_ENV_BUSY when the app's environment has a deployment in an active state.
   */
  createDeployment(
    created: NewEvent<'deployment.created'>,
  ): Promise<{ deployment: DeploymentRecord; event: AnyStoredEvent }>;
  /** Appends events after `expectedSeq` and updates the projection (state via core `transition`). */
  append(
    deploymentId: number,
    expectedSeq: number,
    events: readonly AnyNewEvent[],
  ): Promise<readonly AnyStoredEvent[]>;
  /** Events of one deployment with seq > afterSeq, in order. */
  readEvents(deploymentId: number, afterSeq?: number): Promise<readonly AnyStoredEvent[]>;
  getDeployment(id: number): Promise<DeploymentRecord | undefined>;
  listDeployments(filter?: ListDeploymentsFilter): Promise<readonly DeploymentRecord[]>;
  /** Records a release's checksum the first time it is seen; returns the record that stands (maybe an older one). */
  recordRelease(record: Omit<ReleaseRecord, 'createdAt'>): Promise<ReleaseRecord>;
  getRelease(app: string, release: string): Promise<ReleaseRecord | undefined>;
  /** Takes the execution lease of a deployment if free or expired (or held by `owner` already). */
  acquireLease(deploymentId: number, owner: string, ttlMs: number): Promise<LeaseResult>;
  renewLease(deploymentId: number, owner: string, ttlMs: number): Promise<boolean>;
  releaseLease(deploymentId: number, owner: string): Promise<void>;
  /** Who holds the execution lease of a deployment, if anyone (possibly expired). */
  getLease(deploymentId: number): Promise<{ readonly owner: string; readonly expiresAt: string } | undefined>;
  /** Walks the whole hash chain in order and reports the first event whose hashes do not match. */
  verifyChain(): Promise<ChainVerification>;
  close(): Promise<void>;
}

// ───────────────────────────── Target ─────────────────────────────

export interface ExecOptions {
  /** Working directory on the machine the command runs on. */
  readonly cwd?: string;
  /** Added to a minimal inherited environment (PATH, HOME, USER, LOGNAME, LANG, LC_ALL, TZ, TMPDIR, SHELL). */
  readonly env?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
  /** Live output (stdout and stderr interleaved), for progress and `logs --follow`. */
  readonly onOutput?: (chunk: string) => void;
  /** Called once the command started, with its process (group) id on the machine running it. */
  readonly onSpawn?: (pid: number) => void;
  /** Only the last this-many bytes of output are kept in the result. @default 65536 */
  readonly maxOutputBytes?: number;
}

export interface ExecResult {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly timedOut: boolean;
  /** Tail of the combined output, at most `maxOutputBytes`. */
  readonly output: string;
  readonly truncated: boolean;
  readonly durationMs: number;
}

/** Where releases live on a target. */
export interface TargetLayout {
  readonly root: string;
  readonly releases: string;
  readonly current: string;
  readonly shared: string;
}

/**
 * A machine releases are deployed to. Layout: `<root>/releases/<name>/`, `<root>/current` (a symlink
 * switched atomically by rename), `<root>/shared/` (data that outlives releases).
 */
export interface Target {
  readonly description: string;
  readonly layout: TargetLayout;
  /** Creates the layout's folders if missing. Idempotent. */
  prepare(signal?: AbortSignal): Promise<void>;
  /**
   * Runs a command in its own process group. A timeout resolves with `timedOut: true` and `exitCode: null`;
   * an abort rejects with `signal.reason` once the group is gone; a command that cannot start throws
   * SLW_TARGET_FAILED naming it.
   */
  exec(command: CommandSpec, options: ExecOptions): Promise<ExecResult>;
  /**
   * Verifies the artifact's SHA-256, refuses unsafe entries (absolute, `..`, links escaping), unpacks into a
   * temporary folder and renames it to `releases/<name>`. Idempotent: a complete existing release is reused.
   */
  installRelease(
    artifactPath: string,
    sha256: string,
    name: string,
    signal?: AbortSignal,
  ): Promise<{ readonly dir: string; readonly reused: boolean }>;
  /** Writes a file inside `releases/<name>` (refusing paths that escape it), atomically. */
  writeReleaseFile(name: string, relativePath: string, content: string, signal?: AbortSignal): Promise<void>;
  /** Points `current` at `releases/<name>` with an atomic rename; returns the release it pointed at before. */
  switchCurrent(name: string, signal?: AbortSignal): Promise<{ readonly previous: string | null }>;
  /** The release name `current` points at, or null. */
  currentRelease(signal?: AbortSignal): Promise<string | null>;
  /** Complete releases, oldest installed first. */
  listReleases(signal?: AbortSignal): Promise<readonly string[]>;
  /**
   * Stops process groups (by id on the target's machine) that a killed runner left running there. Only remote
   * targets have it: the engine stops groups on its own machine itself.
   */
  stopProcessGroups?(pgids: readonly number[], signal?: AbortSignal): Promise<void>;
  /** Removes the oldest release folders beyond `keep`, never one in `protect` or the current one; returns the removed. */
  pruneReleases(keep: number, protect: readonly string[], signal?: AbortSignal): Promise<readonly string[]>;
  close(): Promise<void>;
}

// ───────────────────────────── TrafficSwitch ─────────────────────────────

/** One place requests can be sent to: a host's service on one port (a blue-green slot has its own). */
export interface Backend {
  /** Stable name, unique in its switch, e.g. `web1-blue`. Also the server name in nginx/HAProxy. */
  readonly id: string;
  readonly address: string;
  readonly port: number;
}

/**
 * A load balancer Slipway steers: nginx (upstream include + graceful reload), HAProxy (runtime API),
 * or the embedded proxy. Weights are 0–100; 0 means no new requests (in-flight ones finish).
 */
export interface TrafficSwitch {
  readonly description: string;
  /** Sets the weight of every named backend at once (backends not named keep theirs). */
  setWeights(weights: Readonly<Record<string, number>>, signal?: AbortSignal): Promise<void>;
  /** The weights in force now, as the load balancer reports them. */
  weights(signal?: AbortSignal): Promise<Readonly<Record<string, number>>>;
  /**
   * Waits until the backend serves no request any more (its weight must already be 0), or `timeoutMs`
   * passes; returns how many requests were still active then (0 when drained). nginx cannot count requests per
   * server: its switch returns the number of workers of the previous config still finishing theirs.
   */
  drain(backendId: string, timeoutMs: number, signal?: AbortSignal): Promise<number>;
  close(): Promise<void>;
}

// ───────────────────────────── Monitor ─────────────────────────────

/** One measurement of a monitor. */
export interface MonitorSample {
  /** Epoch ms when the sample was taken. */
  readonly atMs: number;
  /** Whether the check itself passed (status, assertions, query ran). A failed check is a critical signal. */
  readonly ok: boolean;
  /**
   * The measured number (latency ms, error ratio, query result), when the monitor measures one. Absent with
   * `ok: true` is "no data" (an empty Prometheus result, NaN, no SQL rows): missing, not failing. Always finite.
   */
  readonly value?: number;
  /** What was seen, for the timeline: e.g. "200 in 41 ms", "p95 0.212 s". No secrets. */
  readonly detail: string;
}

/** Something Slipway can measure repeatedly: HTTP, Prometheus, JSON metric, SQL, authentication, command. */
export interface Monitor {
  readonly id: string;
  readonly description: string;
  sample(signal: AbortSignal): Promise<MonitorSample>;
  close?(): Promise<void>;
}
