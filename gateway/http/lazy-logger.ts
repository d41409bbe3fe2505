/**
 * A child logger created on first use. Most requests log nothing beyond the access line, and
 * creating a pino child is not free (it serializes and scrubs its bindings). The proxy
 * forwards every property to the real child, built once, with methods bound to it, so redaction
 * and grandchildren behave exactly as on `parent.child(bindings)`.
 */
import type { Logger } from '../../core/log/logger.ts';

export function lazyChild(parent: Logger, bindings: Readonly<Record<string, string>>): Logger {
  let real: Logger | undefined;
  const resolve = (): Logger => (real ??= parent.child(bindings));
  const handler: ProxyHandler<Logger> = {
    get(_target, prop) {
      const target = resolve();
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set(_target, prop, value) {
      return Reflect.set(resolve(), prop, value);
    },
    has(_target, prop) {
      return Reflect.has(resolve(), prop);
    },
  };
  // A fresh object as target: it has no own properties, so no proxy invariant can bind the traps.
  return new Proxy(Object.create(parent) as Logger, handler);
}
