/** The provider console's sections (placeholder until built). */
import type { Section } from '../kit/sections.ts';
import { Placeholder } from '../kit/placeholder.tsx';

export const providerSections: readonly Section[] = [{ id: 'provider', title: 'provider', View: Placeholder }];
