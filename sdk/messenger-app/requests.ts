/**
 * zod schemas of every local API input (bodies and path parameters), bounded, and checked
 * against the plain types in api.ts that the page compiles against.
 */
import { z } from 'zod';
import { DeviceId, UserId } from '../../core/protocol/messaging.ts';
import { MAX_TEXT_CHARS } from '../content.ts';
import type { NewConversationBody, ReadBody, SendBody, SignInBody, VerifyBody } from './api.ts';

/** Largest JSON body the API accepts (the longest is a message of MAX_TEXT_CHARS, escaped). */
export const MAX_JSON_BYTES = 6 * MAX_TEXT_CHARS + 4096;
export const MAX_UPLOADS_PER_MESSAGE = 4;

export const SignInRequest = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('staff'),
    username: z.string().trim().min(1).max(128),
    password: z.string().min(1).max(1024),
    totp: z.string().trim().min(6).max(64),
  }),
  z.strictObject({ kind: z.literal('patient'), enrollmentCode: z.string().trim().min(1).max(64) }),
]) satisfies z.ZodType<SignInBody>;

export const NewConversationRequest = z.strictObject({
  peerUserId: UserId,
  label: z.string().trim().max(80).optional(),
}) satisfies z.ZodType<NewConversationBody>;

export const SendRequest = z
  .strictObject({
    text: z.string().max(MAX_TEXT_CHARS),
    uploads: z.array(z.uuid()).max(MAX_UPLOADS_PER_MESSAGE).optional(),
  })
  .refine((b) => b.text.trim() !== '' || (b.uploads?.length ?? 0) > 0, { message: 'Write a message or attach a file', path: ['text'] }) satisfies z.ZodType<SendBody>;

export const ReadRequest = z.strictObject({ clientIds: z.array(z.uuid()).min(1).max(500) }) satisfies z.ZodType<ReadBody>;

export const VerifyRequest = z.strictObject({ deviceId: DeviceId, verified: z.boolean() }) satisfies z.ZodType<VerifyBody>;

export const EmptyRequest = z.strictObject({});

export const PeerParams = z.strictObject({ peer: UserId });
export const AttachmentParams = z.strictObject({ peer: UserId, clientId: z.uuid(), index: z.coerce.number().int().min(0).max(15) });

/** Upload metadata rides in headers (the body is the file's bytes). */
export const UploadHeaders = z.strictObject({
  name: z.string().min(1).max(1024),
  contentType: z.string().max(256).optional(),
});
