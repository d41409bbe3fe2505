/** The auditor's and privacy officer's sections (placeholder until built). */
import type { Section } from '../kit/sections.ts';
import { Placeholder } from '../kit/placeholder.tsx';

export const auditorSections: readonly Section[] = [{ id: 'audit', title: 'Audit log', View: Placeholder }];
export const privacyOfficerSections: readonly Section[] = auditorSections;
