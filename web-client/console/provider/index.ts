/** The provider's console: today's visits (lobby and call on the visit page) and emergency access. */
import type { Section } from '../kit/sections.ts';
import { EmergencyAccess } from './emergency-access.tsx';
import { TodaysVisits } from './todays-visits.tsx';

export const providerSections: readonly Section[] = [
  { id: 'visits', title: 'Today’s visits', View: TodaysVisits },
  { id: 'emergency-access', title: 'Emergency access', View: EmergencyAccess },
];
