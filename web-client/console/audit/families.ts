/**
 * Action families: the chart stacks and filters by these, and the action filter groups its options
 * by them. A family is a set of action prefixes (the part before the first dot) so a new action of
 * an existing kind lands in the right family without a client release; unknown ones go to Other.
 */

export interface Family {
  readonly id: string;
  readonly label: string;
  readonly prefixes: readonly string[];
}

export const FAMILIES: readonly Family[] = [
  { id: 'signin', label: 'Sign-in and sessions', prefixes: ['auth', 'session'] },
  { id: 'access', label: 'Access and break-glass', prefixes: ['access', 'break_glass'] },
  { id: 'patients', label: 'Patients and consent', prefixes: ['patient', 'enrollment', 'consent'] },
  { id: 'visits', label: 'Appointments and visits', prefixes: ['appointment', 'visit'] },
  { id: 'messaging', label: 'Messaging and devices', prefixes: ['message', 'device', 'keys'] },
  { id: 'reminders', label: 'Reminders', prefixes: ['template', 'campaign', 'reminder', 'webhook'] },
  { id: 'admin', label: 'Administration', prefixes: ['user', 'role', 'care_team', 'clinic'] },
  { id: 'system', label: 'Audit and system', prefixes: ['audit', 'system', 'backup'] },
  { id: 'other', label: 'Other', prefixes: [] },
];

const OTHER = FAMILIES[FAMILIES.length - 1] as Family;
const BY_PREFIX = new Map(FAMILIES.flatMap((f) => f.prefixes.map((p) => [p, f] as const)));

export function familyOf(action: string): Family {
  return BY_PREFIX.get(action.split('.')[0] ?? '') ?? OTHER;
}

/** Actions grouped by family, families in the fixed order, actions sorted. Empty families left out. */
export function groupActions(actions: readonly string[]): { family: Family; actions: string[] }[] {
  const groups = new Map<Family, string[]>();
  for (const a of [...actions].sort()) {
    const f = familyOf(a);
    groups.set(f, [...(groups.get(f) ?? []), a]);
  }
  return FAMILIES.flatMap((family) => {
    const list = groups.get(family);
    return list === undefined ? [] : [{ family, actions: list }];
  });
}
