/**
 * The lists every scheduler page picks from: active providers (the scheduling directory), clinics,
 * and patients (the contact view, newest first). Names stay in the page: never in a URL, a title
 * or a log line.
 */
import { useConsole } from '../kit/session.ts';
import { useLoad, type Loaded } from '../kit/ui.tsx';
import type { Clinic, PatientContact, Provider } from './types.ts';

/** The gateway's page size for patient lists (its maximum). */
export const PATIENT_PAGE = 100;

export function useProviders(): Loaded<readonly Provider[]> {
  const { call } = useConsole();
  return useLoad(async () => (await call<{ providers: Provider[] }>('/providers')).providers, []);
}

export function useClinics(): Loaded<readonly Clinic[]> {
  const { call } = useConsole();
  return useLoad(async () => (await call<{ clinics: Clinic[] }>('/clinics')).clinics, []);
}

export function usePatients(): Loaded<readonly PatientContact[]> {
  const { call } = useConsole();
  return useLoad(async () => (await call<{ patients: PatientContact[] }>(`/patients?limit=${PATIENT_PAGE}`)).patients, []);
}

export function byId<T extends { readonly id: string }>(items: readonly T[] | undefined): ReadonlyMap<string, T> {
  return new Map((items ?? []).map((i) => [i.id, i]));
}
