/** The scheduler console's sections (placeholder until built). */
import type { Section } from '../kit/sections.ts';
import { Placeholder } from '../kit/placeholder.tsx';

export const schedulerSections: readonly Section[] = [{ id: 'scheduler', title: 'scheduler', View: Placeholder }];
