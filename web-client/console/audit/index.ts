/**
 * The auditor's and privacy officer's sections. Both read the audit log (search and export, chain
 * status, activity); only privacy officers review break-glass grants (gateway/access/policy.ts:
 * `audit.read` for both roles, `break_glass.review` for privacy officers), and for them the review
 * queue comes first because it is work that must be done. Section ids are plain words.
 */
import type { Section } from '../kit/sections.ts';
import './audit.css';
import { ActivityView } from './activity.tsx';
import { BreakGlassView } from './break-glass.tsx';
import { ChainView } from './chain.tsx';
import { AuditSearchView } from './search.tsx';

const search: Section = { id: 'search', title: 'Audit search', View: AuditSearchView };
const chain: Section = { id: 'chain', title: 'Chain status', View: ChainView };
const activity: Section = { id: 'activity', title: 'Activity', View: ActivityView };
const reviews: Section = { id: 'break-glass', title: 'Break-glass reviews', View: BreakGlassView };

export const auditorSections: readonly Section[] = [search, chain, activity];
export const privacyOfficerSections: readonly Section[] = [reviews, search, chain, activity];
