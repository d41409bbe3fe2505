/** The admin console's sections (placeholder until built). */
import type { Section } from '../kit/sections.ts';
import { Placeholder } from '../kit/placeholder.tsx';

export const adminSections: readonly Section[] = [{ id: 'admin', title: 'admin', View: Placeholder }];
