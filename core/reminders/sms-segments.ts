/**
 * How many SMS segments a text costs (3GPP TS 23.038): GSM-7 when every character is in the
 * default alphabet or its extension table (extension characters take two septets), otherwise
 * UCS-2. One segment holds 160 septets / 70 UTF-16 units; a concatenated message loses room to
 * the header (153 / 67 per segment), and an escape pair or a surrogate pair never straddles two
 * segments, so the count is done segment by segment rather than by division.
 */

const GSM7_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM7_EXTENSION = new Set('\f^{}\\[~]|€');

export const SmsEncoding = { gsm7: 'gsm7', ucs2: 'ucs2' } as const;
export type SmsEncoding = (typeof SmsEncoding)[keyof typeof SmsEncoding];

export interface SmsSize {
  readonly encoding: SmsEncoding;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2). */
  readonly units: number;
  readonly segments: number;
}

const LIMITS = { gsm7: { single: 160, multi: 153 }, ucs2: { single: 70, multi: 67 } } as const;

export function smsSize(text: string): SmsSize {
  const chars = [...text]; // code points: a surrogate pair stays together
  const gsm = chars.every((c) => GSM7_BASIC.has(c) || GSM7_EXTENSION.has(c));
  const encoding = gsm ? SmsEncoding.gsm7 : SmsEncoding.ucs2;
  const cost = (c: string): number => (gsm ? (GSM7_EXTENSION.has(c) ? 2 : 1) : c.length);
  const units = chars.reduce((n, c) => n + cost(c), 0);
  const limit = LIMITS[encoding];
  if (units <= limit.single) return { encoding, units, segments: units === 0 ? 0 : 1 };
  let segments = 1;
  let used = 0;
  for (const c of chars) {
    const n = cost(c);
    if (used + n > limit.multi) {
      segments += 1;
      used = 0;
    }
    used += n;
  }
  return { encoding, units, segments };
}
