/**
 * The caller's audit identity for the appointment, visit-link, enrollment and break-glass
 * services (the shared core/audit AuditActor), and the id check they use.
 */
export { actorFields, type AuditActor as ActionContext } from '../audit/index.ts';
export { isUuid } from '../ids.ts';
