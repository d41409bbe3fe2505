/**
 * int8 (bigint) columns as JavaScript numbers on both engines, refusing values a number cannot
 * hold exactly (ids and sequence numbers here stay far below 2^53).
 */
export const INT8_OID = 20;

export function parseSafeInt8(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n)) throw new RangeError('int8 value exceeds Number.MAX_SAFE_INTEGER');
  return n;
}
