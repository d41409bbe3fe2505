/**
 * The scheduler's console: appointments, patients' communication consent, reminder templates with
 * a live PHI check, and reminder campaigns with live progress, delivery reports and dead letters.
 * Never message metadata: the gateway does not give it to schedulers, and no page asks.
 */
import type { Section } from '../kit/sections.ts';
import { AppointmentsView } from './appointments.tsx';
import { CampaignsView } from './campaigns.tsx';
import { ConsentView } from './consent.tsx';
import { TemplatesView } from './templates.tsx';
import './scheduler.css';

export const schedulerSections: readonly Section[] = [
  { id: 'appointments', title: 'Appointments', View: AppointmentsView },
  { id: 'consent', title: 'Patients & consent', View: ConsentView },
  { id: 'templates', title: 'Templates', View: TemplatesView },
  { id: 'campaigns', title: 'Campaigns', View: CampaignsView },
];
