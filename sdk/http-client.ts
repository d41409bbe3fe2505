/**
 * The gateway's HTTP API for messaging and sign-in, over fetch with a bearer token. Request bodies
 * are validated with core/protocol's schemas before sending, responses after receiving; gateway
 * errors (`{error:{code,message,...}}`) become SdkError with status, code and the extra fields.
 */
import { z } from 'zod';
import {
  DeviceList,
  DeviceMismatch,
  DeviceRegistered,
  KeyBundleResponse,
  MessagingErrorCode,
  PreKeyCount,
  RegisterDeviceRequest,
  SendMessagesRequest,
  SendResult,
  UploadKeysRequest,
} from '../core/protocol/messaging.ts';
import { SdkError, SdkErrorCode } from './errors.ts';
import type { MessagingHttp } from './transport.ts';

const ErrorBody = z.object({ error: z.looseObject({ code: z.string(), message: z.string() }) });

export interface HttpOptions {
  /** Gateway base URL, e.g. https://clinic.example. */
  readonly baseUrl: string;
  /** Bearer session token; omitted for the sign-in endpoints. */
  readonly token?: string;
  readonly fetch?: typeof fetch;
  readonly timeoutMs?: number;
}

/** A gateway error answer (`{error:{code,message,...}}`) as SdkError with status, code and the extra fields. */
export function gatewayError(status: number, body: unknown): SdkError {
  const parsed = ErrorBody.safeParse(body);
  if (!parsed.success) return new SdkError(SdkErrorCode.invalidResponse, `the gateway answered ${status}`, { status });
  const { code, message, ...details } = parsed.data.error;
  return new SdkError(code, message, { status, details });
}

export async function request<S extends z.ZodType>(opts: HttpOptions, method: string, path: string, body: unknown, schema: S | null): Promise<z.infer<S> | undefined> {
  const url = new URL(path, opts.baseUrl);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let res: Response;
  try {
    res = await (opts.fetch ?? fetch)(url, {
      method,
      headers,
      body: body === undefined ? null : JSON.stringify(body),
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
  } catch (err) {
    throw new SdkError(SdkErrorCode.network, `cannot reach the gateway (${method} ${url.pathname})`, { cause: err });
  }
  const text = await res.text();
  let json: unknown = undefined;
  if (text !== '') {
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new SdkError(SdkErrorCode.invalidResponse, `the gateway answered ${res.status} with a body that is not JSON`, { status: res.status, cause: err });
    }
  }
  if (!res.ok) throw gatewayError(res.status, json);
  if (schema === null) return undefined;
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new SdkError(SdkErrorCode.invalidResponse, `unexpected response from ${method} ${url.pathname}`, { status: res.status, cause: parsed.error });
  return parsed.data;
}

async function required<S extends z.ZodType>(opts: HttpOptions, method: string, path: string, body: unknown, schema: S): Promise<z.infer<S>> {
  const out = await request(opts, method, path, body, schema);
  if (out === undefined) throw new SdkError(SdkErrorCode.invalidResponse, `empty response from ${method} ${path}`);
  return out;
}

/** The details of a 409 device_mismatch, or undefined when `err` is something else. */
export function deviceMismatchOf(err: unknown): z.infer<typeof DeviceMismatch> | undefined {
  if (!(err instanceof SdkError) || err.code !== MessagingErrorCode.deviceMismatch) return undefined;
  const parsed = DeviceMismatch.safeParse({
    missingDevices: err.details?.missingDevices ?? [],
    extraDevices: err.details?.extraDevices ?? [],
    staleDevices: err.details?.staleDevices ?? [],
  });
  return parsed.success ? parsed.data : undefined;
}

export function createMessagingHttp(opts: HttpOptions): MessagingHttp {
  const seg = (s: string | number) => encodeURIComponent(String(s));
  return {
    registerDevice: (body) => required(opts, 'POST', '/v1/devices', RegisterDeviceRequest.parse(body), DeviceRegistered),
    async uploadKeys(deviceId, body) {
      await request(opts, 'PUT', `/v1/devices/${seg(deviceId)}/keys`, UploadKeysRequest.parse(body), null);
    },
    preKeyCount: (deviceId) => required(opts, 'GET', `/v1/devices/${seg(deviceId)}/keys/count`, undefined, PreKeyCount),
    listDevices: () => required(opts, 'GET', '/v1/devices', undefined, DeviceList),
    fetchBundles: (userId, deviceId) => required(opts, 'GET', `/v1/keys/${seg(userId)}/${deviceId === undefined ? '*' : seg(deviceId)}`, undefined, KeyBundleResponse),
    sendMessages: (userId, body) => required(opts, 'PUT', `/v1/messages/${seg(userId)}`, SendMessagesRequest.parse(body), SendResult),
  };
}
