/**
 * Request ids correlate a client's error report with our log lines. An inbound X-Request-Id is
 * kept only when it is short and made of safe characters (it ends up in logs and headers);
 * anything else is replaced by a fresh UUID.
 */
import { randomUUID } from 'node:crypto';

export const REQUEST_ID_HEADER = 'x-request-id';

const SAFE_REQUEST_ID = /^[A-Za-z0-9_.-]{1,64}$/;

export function acceptRequestId(inbound: string | undefined): string {
  return inbound !== undefined && SAFE_REQUEST_ID.test(inbound) ? inbound : randomUUID();
}
