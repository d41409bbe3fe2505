/**
 * Readiness of one gateway process. GET /readyz answers 200 only in `ready`; the HTTP server
 * marks `ready` once listening and `draining` as the first step of close(), so a load balancer
 * stops routing here before connections are closed.
 */

export const LifecycleState = {
  starting: 'starting',
  ready: 'ready',
  draining: 'draining',
} as const;
export type LifecycleState = (typeof LifecycleState)[keyof typeof LifecycleState];

export interface Lifecycle {
  state: LifecycleState;
}

export function createLifecycle(): Lifecycle {
  return { state: LifecycleState.starting };
}
