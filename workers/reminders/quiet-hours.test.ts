import { describe, expect, it } from 'vitest';
import { nextSendTime } from './quiet-hours.ts';

describe('quiet hours in the patient’s time zone', () => {
  it('sends at once inside the window and delays to the next opening outside it, per zone', () => {
    // 2026-03-02 02:30 UTC is 21:30 the evening before in New York, 11:30 in Tokyo.
    const at = new Date('2026-03-02T02:30:00Z');
    expect(nextSendTime(at, 'Asia/Tokyo')).toEqual(at);
    expect(nextSendTime(at, 'America/New_York').toISOString()).toBe('2026-03-02T13:00:00.000Z'); // 08:00 EST
    // Early morning: the same day's opening.
    expect(nextSendTime(new Date('2026-03-02T10:00:00Z'), 'America/Los_Angeles').toISOString()).toBe('2026-03-02T16:00:00.000Z'); // 02:00 → 08:00 PST
  });

  it('follows daylight saving: the opening after the spring-forward night is 08:00 local in the new offset', () => {
    // New York springs forward on 2026-03-08; 23:00 EST on the 7th → next opening 08:00 EDT = 12:00Z.
    expect(nextSendTime(new Date('2026-03-08T04:00:00Z'), 'America/New_York').toISOString()).toBe('2026-03-08T12:00:00.000Z');
  });

  it('treats the window end as exclusive and an unknown zone as UTC; a bad window is refused', () => {
    expect(nextSendTime(new Date('2026-06-01T21:00:00Z'), 'UTC').toISOString()).toBe('2026-06-02T08:00:00.000Z');
    expect(nextSendTime(new Date('2026-06-01T20:59:59Z'), 'UTC').toISOString()).toBe('2026-06-01T20:59:59.000Z');
    expect(nextSendTime(new Date('2026-06-01T05:00:00Z'), 'Not/AZone').toISOString()).toBe('2026-06-01T08:00:00.000Z');
    expect(() => nextSendTime(new Date(), 'UTC', { startHour: 21, endHour: 8 })).toThrow(RangeError);
  });
});
