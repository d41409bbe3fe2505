/**
 * The reminder text rules of this deployment, built on first use: the portal link is this
 * gateway's public origin, known only once it listens (PUBLIC_URL, else the listen URL).
 * Invalid settings (a clinic name that fails the PHI lint) surface on the first template request
 * as a startup-style error naming the setting.
 */
import type { Config } from '../../core/config/schema.ts';
import { createReminderText, type ReminderText } from '../../core/reminders/render.ts';

export function lazyReminderText(config: Pick<Config, 'clinicName' | 'publicUrl'>, listenUrl: () => string): ReminderText {
  let text: ReminderText | undefined;
  const get = (): ReminderText => (text ??= createReminderText({ clinicName: config.clinicName, portalUrl: new URL(config.publicUrl ?? listenUrl()).origin }));
  return {
    get linter() {
      return get().linter;
    },
    get timeWords() {
      return get().timeWords;
    },
    get sampleVisitLink() {
      return get().sampleVisitLink;
    },
    check: (content) => get().check(content),
    render: (content, vars) => get().render(content, vars),
  };
}
