/** Whether an environment may be changed now: the answer the maintenance-window calculator gives the engine. */

export type WindowStatus =
  /** Inside a window and outside freezes (or the environment has neither); `closesAt` null means "any time". */
  | { readonly state: 'open'; readonly closesAt: number | null }
  /** Not now: the next moment a window is open, outside freezes, and long enough for what is needed. */
  | {
      readonly state: 'closed';
      readonly opensAt: number;
      readonly closesAt: number | null;
      readonly reason: string;
    }
  /** No such moment within the search horizon (e.g. a phase longer than every window). */
  | { readonly state: 'never'; readonly reason: string };
