/**
 * The admin console's sections: staff accounts and roles, care teams, messaging devices, and
 * sessions. Section ids are plain words (they appear in the URL fragment); the account being
 * worked on is kept in memory only (selection.ts), never in the URL.
 */
import type { Section } from '../kit/sections.ts';
import './admin.css';
import { CareTeamsView } from './care-teams.tsx';
import { DevicesView } from './devices.tsx';
import { SessionsView } from './sessions.tsx';
import { UsersView } from './users.tsx';

export const adminSections: readonly Section[] = [
  { id: 'users', title: 'Users', View: UsersView },
  { id: 'care-teams', title: 'Care teams', View: CareTeamsView },
  { id: 'devices', title: 'Devices', View: DevicesView },
  { id: 'sessions', title: 'Sessions', View: SessionsView },
];
