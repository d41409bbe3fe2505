/** The one-line result every bench prints last (DESIGN §9): compared with a baseline from the same run. */
export interface BenchResult {
  readonly bench: string;
  readonly value: number;
  readonly unit: string;
  readonly baseline: number;
  readonly ratio: number;
}
