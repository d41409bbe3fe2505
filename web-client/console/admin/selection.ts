/**
 * The staff account the admin is working on, kept while they move between sections (Users →
 * Sessions → Devices) so they do not pick it again. Held in memory only: never in the URL, and
 * gone with the page (sign-out unmounts the console and a reload starts fresh).
 */
import { useState } from 'preact/hooks';

let selected: string | undefined;

export function selectUser(userId: string | undefined): void {
  selected = userId;
}

export function useSelectedUser(): readonly [string | undefined, (userId: string | undefined) => void] {
  const [value, setValue] = useState(selected);
  const set = (userId: string | undefined): void => {
    selected = userId;
    setValue(userId);
  };
  return [value, set];
}
