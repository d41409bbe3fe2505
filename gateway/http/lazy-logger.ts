/**
 * A child logger created on first use. Most requests log nothing beyond the access line, and
 * creating a pino child is not free (it serializes and scrubs its bindings). The proxy
 * forwards every property to the real child, built once, with methods bound to it, so redaction
 * and grandchildren behave exactly as on `parent.child(bindings)`.
 */
import type { Logger } from '../../core/log/logger.ts';

/**
 * The proxy target: the parent and bindings, and the child once made. Its properties are
 * ordinary (configurable) ones, so no proxy invariant ties the traps' answers to them.
 */
interface Lazy {
  readonly parent: Logger;
  readonly bindings: Readonly<Record<string, string>>;
  real: Logger | undefined;
}

const resolve = (t: Lazy): Logger => (t.real ??= t.parent.child(t.bindings));

/** One handler for every request's proxy: a request allocates only its target and proxy. */
const handler: ProxyHandler<Lazy> = {
  get(t, prop) {
    const target = resolve(t);
    const value: unknown = Reflect.get(target, prop, target);
    return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
  },
  set(t, prop, value) {
    return Reflect.set(resolve(t), prop, value);
  },
  has(t, prop) {
    return Reflect.has(resolve(t), prop);
  },
  getPrototypeOf(t) {
    return Reflect.getPrototypeOf(resolve(t));
  },
};

export function lazyChild(parent: Logger, bindings: Readonly<Record<string, string>>): Logger {
  const target: Lazy = { parent, bindings, real: undefined };
  return new Proxy(target, handler) as unknown as Logger;
}
