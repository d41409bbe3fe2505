/**
 * Keyword recognition: tolerant of case, punctuation and trailing words; only the first word counts.
 */
import { describe, expect, it } from 'vitest';
import { classifySms } from './sms-keywords.ts';

describe('SMS keywords', () => {
  it('recognizes opt-out, opt-in and help keywords tolerantly', () => {
    for (const body of ['STOP', 'stop', ' Stop. Thanks', 'stop please', 'UNSUBSCRIBE', 'StopAll', 'cancel!', 'END', 'quit', 'Revoke', 'OPTOUT', 'opt-out', 'Opt out please', '"stop"'])
      expect([body, classifySms(body)]).toEqual([body, 'opt_out']);
    for (const body of ['START', 'start.', 'Unstop', 'start again please']) expect([body, classifySms(body)]).toEqual([body, 'opt_in']);
    for (const body of ['HELP', 'help?', 'Info']) expect([body, classifySms(body)]).toEqual([body, 'help']);
  });

  it('ignores messages that merely contain a keyword', () => {
    for (const body of ['', '   ', 'please stop', "don't stop", 'Stopping by later', 'startle', '12 stop', 'optional', 'Starting soon?'])
      expect([body, classifySms(body)]).toEqual([body, null]);
  });
});
