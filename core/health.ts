/** A component's liveness probe, reported per component by GET /healthz. */
export interface HealthCheck {
  /** Component name in the report, e.g. "db", "redis", later "media", "workers". */
  readonly name: string;
  /** Resolves when healthy; rejects (with a message safe to show operators) when not. */
  check(): Promise<void>;
}
