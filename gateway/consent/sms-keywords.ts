/**
 * Recognizes the carrier-standard SMS keywords in an inbound message, tolerantly: case,
 * surrounding punctuation and trailing words do not matter ("Stop. Thanks", "stop please",
 * "UNSUBSCRIBE", "opt out"). Only the first word counts, so "please don't stop" is not an opt-out.
 */

export const SmsKeyword = { optOut: 'opt_out', optIn: 'opt_in', help: 'help' } as const;
export type SmsKeyword = (typeof SmsKeyword)[keyof typeof SmsKeyword];

const WORDS: ReadonlyMap<string, SmsKeyword> = new Map([
  ...['stop', 'stopall', 'unsubscribe', 'cancel', 'end', 'quit', 'revoke', 'optout'].map((w) => [w, SmsKeyword.optOut] as const),
  ...['start', 'unstop'].map((w) => [w, SmsKeyword.optIn] as const),
  ...['help', 'info'].map((w) => [w, SmsKeyword.help] as const),
]);

/** Longer messages are conversation, not a keyword; also bounds the work on hostile input. */
const MAX_SCANNED = 160;

export function classifySms(body: string): SmsKeyword | null {
  // Words are runs of letters or digits; hyphens join ("opt-out"), everything else separates.
  const words = body
    .slice(0, MAX_SCANNED)
    .toLowerCase()
    .replaceAll('-', '')
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
  const [first, second] = words;
  if (first === undefined) return null;
  if (first === 'opt' && second === 'out') return SmsKeyword.optOut;
  return WORDS.get(first) ?? null;
}
