/**
 * The end-to-end-encrypted messaging wire protocol: every HTTP body and WebSocket frame the
 * gateway (gateway/keys, gateway/messaging) and its clients (sdk/) exchange, as zod schemas.
 * The single source of truth for both sides; imports nothing but zod (the SDK ships to clients).
 *
 * Binary values (public keys, signatures, ciphertext) travel as standard base64 strings. The
 * server only ever sees public keys and libsignal ciphertext.
 */
import { z } from 'zod';

/** Base64 (standard alphabet, padded) of at most `maxBytes` decoded bytes. */
export const b64 = (maxBytes: number) => z.base64().max(Math.ceil(maxBytes / 3) * 4);

export const DeviceId = z.number().int().min(1).max(127);
export const RegistrationId = z.number().int().min(1).max(16383);
export const KeyId = z.number().int().min(0).max(0xffffff);
/** An account (users.id). */
export const UserId = z.uuid();
export const EnvelopeId = z.uuid();

/** Serialized libsignal PublicKey (type byte + 32), IdentityKey likewise. */
export const EcPublicKey = b64(33);
/** Serialized libsignal KEMPublicKey (type byte + 1568 for Kyber1024). */
export const KemPublicKey = b64(1569);
/** XEdDSA signature by the identity key. */
export const Signature = b64(64);

export const PreKey = z.strictObject({ keyId: KeyId, publicKey: EcPublicKey });
export const SignedPreKey = z.strictObject({ keyId: KeyId, publicKey: EcPublicKey, signature: Signature });
export const KyberPreKey = z.strictObject({ keyId: KeyId, publicKey: KemPublicKey, signature: Signature });

export const MAX_PREKEYS_PER_UPLOAD = 100;

/** POST /v1/devices — register a device with its keys. 201 → DeviceRegistered. */
export const RegisterDeviceRequest = z.strictObject({
  registrationId: RegistrationId,
  identityKey: EcPublicKey,
  signedPreKey: SignedPreKey,
  lastResortKyberPreKey: KyberPreKey,
  preKeys: z.array(PreKey).max(MAX_PREKEYS_PER_UPLOAD).default([]),
  kyberPreKeys: z.array(KyberPreKey).max(MAX_PREKEYS_PER_UPLOAD).default([]),
  /** Optional label the user sees in their device list ("work laptop"); never PHI by convention. */
  label: z.string().min(1).max(64).optional(),
});
export const DeviceRegistered = z.strictObject({ deviceId: DeviceId });

/** PUT /v1/devices/{deviceId}/keys — replenish or rotate. The identity key must be unchanged. 204. */
export const UploadKeysRequest = z.strictObject({
  identityKey: EcPublicKey,
  signedPreKey: SignedPreKey.optional(),
  lastResortKyberPreKey: KyberPreKey.optional(),
  preKeys: z.array(PreKey).max(MAX_PREKEYS_PER_UPLOAD).default([]),
  kyberPreKeys: z.array(KyberPreKey).max(MAX_PREKEYS_PER_UPLOAD).default([]),
});

/** GET /v1/devices/{deviceId}/keys/count */
export const PreKeyCount = z.strictObject({ preKeys: z.number().int().min(0), kyberPreKeys: z.number().int().min(0) });

/** GET /v1/devices — the caller's own devices. */
export const DeviceInfo = z.strictObject({
  deviceId: DeviceId,
  registrationId: RegistrationId,
  label: z.string().nullable(),
  createdAt: z.iso.datetime(),
  lastSeenAt: z.iso.datetime(),
});
export const DeviceList = z.strictObject({ devices: z.array(DeviceInfo) });

/**
 * GET /v1/keys/{userId}/{deviceId} or /v1/keys/{userId}/* — one bundle per device, each
 * consuming one one-time EC prekey (absent when none is left) and one one-time Kyber prekey
 * (the last-resort one, `lastResort: true`, when none is left).
 */
export const DeviceBundle = z.strictObject({
  deviceId: DeviceId,
  registrationId: RegistrationId,
  identityKey: EcPublicKey,
  signedPreKey: SignedPreKey,
  preKey: PreKey.nullable(),
  kyberPreKey: KyberPreKey.extend({ lastResort: z.boolean() }),
});
export const KeyBundleResponse = z.strictObject({ userId: UserId, devices: z.array(DeviceBundle).min(1) });

/** libsignal CiphertextMessageType: 2 = Whisper (established session), 3 = PreKey (first message). */
export const CiphertextType = z.union([z.literal(2), z.literal(3)]);

/** One ciphertext for one recipient device. `content` size is bounded by ENVELOPE_MAX_BYTES. */
export const OutgoingEnvelope = z.strictObject({
  deviceId: DeviceId,
  registrationId: RegistrationId,
  type: CiphertextType,
  content: z.base64().min(1).max(Math.ceil(1_048_576 / 3) * 4),
});

/**
 * PUT /v1/messages/{recipientUserId} — one envelope per current device of the recipient
 * (excluding the sending device when messaging one's own account). The sender is the session's
 * account and `senderDevice`, which must be one of its devices.
 * 200 → SendResult; 409 `device_mismatch` with { missingDevices, extraDevices, staleDevices }.
 */
export const SendMessagesRequest = z.strictObject({
  senderDevice: DeviceId,
  messages: z.array(OutgoingEnvelope).min(1).max(127),
});
export const SendResult = z.strictObject({ envelopes: z.array(z.strictObject({ deviceId: DeviceId, id: EnvelopeId })) });

/** The extra fields of a 409 `device_mismatch` error (in `error`, next to code and message). */
export const DeviceMismatch = z.strictObject({
  /** Devices the recipient has that the request did not address. */
  missingDevices: z.array(DeviceId),
  /** Devices the request addressed that the recipient does not have. */
  extraDevices: z.array(DeviceId),
  /** Devices whose registration id changed (re-registered): fetch a new bundle. */
  staleDevices: z.array(DeviceId),
});

/** A stored envelope as delivered to its recipient device. */
export const InboundEnvelope = z.strictObject({
  id: EnvelopeId,
  senderUserId: UserId,
  senderDevice: DeviceId,
  type: CiphertextType,
  content: z.base64(),
  /** Server receive time, ISO 8601. */
  serverTs: z.iso.datetime(),
});

/** POST /v1/attachments (body: application/octet-stream, the encrypted bytes) → 201. */
export const AttachmentCreated = z.strictObject({ id: z.uuid(), size: z.number().int().min(0), expiresAt: z.iso.datetime() });

// ---- WebSocket frames (on /ws, after the authenticated upgrade) --------------------------

/** Client → server payloads (the hub adds `type`). */
export const ClientFrames = {
  /** Receive as this device (one of the session account's): backlog first, then live. */
  'messages.subscribe': z.strictObject({ deviceId: DeviceId }),
  /** Delivered and stored by the client: the server deletes them. Unknown or repeated ids are ignored. */
  'messages.ack': z.strictObject({ ids: z.array(EnvelopeId).min(1).max(100) }),
} as const;

/** Server → client frames. */
export const ServerFrames = {
  'messages.subscribed': z.strictObject({ type: z.literal('messages.subscribed'), deviceId: DeviceId }),
  message: z.strictObject({ type: z.literal('message'), envelope: InboundEnvelope }),
  /** The stored backlog present at subscribe time has been sent; what follows is live. */
  'messages.drained': z.strictObject({ type: z.literal('messages.drained') }),
  /** This device was removed from its account; the socket closes next (code 4410). */
  'device.removed': z.strictObject({ type: z.literal('device.removed'), deviceId: DeviceId }),
  /** Upload more one-time prekeys (counts are what is left). */
  'keys.low': z.strictObject({ type: z.literal('keys.low'), deviceId: DeviceId, preKeys: z.number().int(), kyberPreKeys: z.number().int() }),
} as const;

export const MessagingErrorCode = {
  deviceLimit: 'device_limit',
  deviceNotFound: 'device_not_found',
  deviceMismatch: 'device_mismatch',
  invalidKey: 'invalid_key',
  invalidSignature: 'invalid_signature',
  identityKeyChanged: 'identity_key_changed',
  envelopeTooLarge: 'envelope_too_large',
  noSuchRecipient: 'no_such_recipient',
} as const;
export type MessagingErrorCode = (typeof MessagingErrorCode)[keyof typeof MessagingErrorCode];
