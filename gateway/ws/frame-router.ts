/**
 * Inbound WebSocket frames: one handler per message kind, in a map keyed by the `type`
 * discriminant, validated by a zod discriminated union built from the registered schemas.
 * Features (messaging, video) register their kinds at start-up; nothing here knows them.
 * Error messages name paths and rules, never values (a frame may carry PHI).
 */
import { z } from 'zod';
import type { WsClient } from './ws-client.ts';

/** A frame's payload schema, without `type` (the router adds it as a literal). */
export type PayloadSchema = z.ZodObject;

export type FrameOf<T extends string, S extends PayloadSchema> = z.output<S> & { readonly type: T };

export type FrameHandler<F> = (client: WsClient, frame: F) => void | Promise<void>;

type AnyFrameSchema = z.ZodObject<{ type: z.ZodLiteral<string> }>;

interface Route {
  readonly schema: AnyFrameSchema;
  readonly handler: FrameHandler<unknown>;
}

export const ParseFailure = { notJson: 'not_json', unknownType: 'unknown_type', invalidShape: 'invalid_shape' } as const;
export type ParseFailure = (typeof ParseFailure)[keyof typeof ParseFailure];

export type Parsed =
  | { readonly ok: true; readonly type: string; readonly frame: unknown; readonly handler: FrameHandler<unknown> }
  | { readonly ok: false; readonly failure: ParseFailure; readonly message: string };

export interface FrameRouter {
  register<T extends string, S extends PayloadSchema>(type: T, schema: S, handler: FrameHandler<FrameOf<T, S>>): void;
  parse(text: string): Parsed;
  readonly types: readonly string[];
}

const TYPE_RE = /^[a-z][a-z0-9_.]{0,63}$/;
const MAX_ISSUES = 5;

export function createFrameRouter(reserved: readonly string[]): FrameRouter {
  const routes = new Map<string, Route>();
  let union: z.ZodType | undefined;

  const build = (): z.ZodType | undefined => {
    const schemas = [...routes.values()].map((r) => r.schema);
    const [first, ...rest] = schemas;
    return first === undefined ? undefined : z.discriminatedUnion('type', [first, ...rest]);
  };

  return {
    register(type, schema, handler) {
      if (!TYPE_RE.test(type)) throw new TypeError(`frame type ${type} must be lowercase letters, digits, '.' or '_'`);
      if (routes.has(type) || reserved.includes(type)) throw new TypeError(`frame type ${type} is already registered`);
      if ('type' in schema.shape) throw new TypeError(`the schema for ${type} must not define 'type'; the router adds it`);
      const full = schema.extend({ type: z.literal(type) }) as unknown as AnyFrameSchema;
      routes.set(type, { schema: full, handler: handler as FrameHandler<unknown> });
      union = build();
    },

    parse(text) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        return { ok: false, failure: ParseFailure.notJson, message: 'frame is not JSON' };
      }
      const type = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)['type'] : undefined;
      const route = typeof type === 'string' ? routes.get(type) : undefined;
      if (union === undefined || route === undefined || typeof type !== 'string') {
        return { ok: false, failure: ParseFailure.unknownType, message: 'unknown frame type' };
      }
      const r = union.safeParse(value);
      if (!r.success) {
        const where = r.error.issues.slice(0, MAX_ISSUES).map((i) => `${i.path.map(String).join('.') || '(frame)'}: ${i.code}`);
        return { ok: false, failure: ParseFailure.invalidShape, message: `invalid ${type} frame (${where.join('; ')})` };
      }
      return { ok: true, type, frame: r.data, handler: route.handler };
    },

    get types() {
      return [...routes.keys()];
    },
  };
}
