/**
 * The one description of every setting: environment variable name, type, default, and what it
 * means. The README's configuration table is generated from `settings` (see `telehealth config docs`).
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'expected true or false' })
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) =>
  z.coerce
    .number({ message: 'expected a whole number' })
    .int({ message: 'expected a whole number' })
    .min(min, { message: `expected at least ${min}` })
    .max(max, { message: `expected at most ${max}` });

const url = (protocols: readonly string[]) =>
  z
    .string()
    .url({ message: `expected a URL (${protocols.join(' or ')})` })
    .refine((u) => protocols.some((p) => u.startsWith(`${p}://`)), {
      message: `expected a URL starting with ${protocols.map((p) => `${p}://`).join(' or ')}`,
    });

/** A setting: its env var, schema, default (as the env string would be), secrecy and doc line. */
interface Setting<S extends z.ZodType> {
  readonly env: string;
  readonly schema: S;
  readonly default?: string;
  readonly secret?: boolean;
  readonly doc: string;
}
const setting = <S extends z.ZodType>(s: Setting<S>): Setting<S> => s;

export const settings = {
  env: setting({
    env: 'APP_ENV',
    schema: z.enum(['development', 'production', 'test'], { message: 'expected development, production or test' }),
    default: 'development',
    doc: 'development binds to loopback and allows plain HTTP; production requires TLS or TRUST_PROXY.',
  }),
  host: setting({
    env: 'HOST',
    schema: z.string().min(1).max(255).optional(),
    doc: 'Listen address. Default 127.0.0.1 in development, 0.0.0.0 in production.',
  }),
  port: setting({ env: 'PORT', schema: int(0, 65535), default: '8080', doc: 'HTTP(S) listen port (0 picks a free one).' }),
  dataDir: setting({
    env: 'DATA_DIR',
    schema: z.string().min(1),
    default: './data',
    doc: 'Embedded state: PGlite database, private Redis (AOF), generated keys.',
  }),
  databaseUrl: setting({
    env: 'DATABASE_URL',
    schema: url(['postgres', 'postgresql']).optional(),
    secret: true,
    doc: 'PostgreSQL connection string. Unset: embedded PGlite under DATA_DIR/pglite.',
  }),
  databasePoolMax: setting({ env: 'DATABASE_POOL_MAX', schema: int(1, 200), default: '10', doc: 'PostgreSQL pool size per process.' }),
  redisUrl: setting({
    env: 'REDIS_URL',
    schema: url(['redis', 'rediss']).optional(),
    secret: true,
    doc: 'Redis connection string. Unset: a private redis-server (AOF on) under DATA_DIR/redis.',
  }),
  redisServerBin: setting({
    env: 'REDIS_SERVER_BIN',
    schema: z.string().min(1),
    default: 'redis-server',
    doc: 'redis-server executable used for the private Redis when REDIS_URL is unset.',
  }),
  tlsCertFile: setting({ env: 'TLS_CERT_FILE', schema: z.string().min(1).optional(), doc: 'PEM certificate chain; with TLS_KEY_FILE serves HTTPS/WSS (TLS >= 1.2).' }),
  tlsKeyFile: setting({ env: 'TLS_KEY_FILE', schema: z.string().min(1).optional(), doc: 'PEM private key for TLS_CERT_FILE.' }),
  trustProxy: setting({
    env: 'TRUST_PROXY',
    schema: bool,
    default: 'false',
    doc: 'Behind a TLS-terminating proxy: trust X-Forwarded-For/-Proto; plain-HTTP requests (X-Forwarded-Proto http) are refused.',
  }),
  logLevel: setting({
    env: 'LOG_LEVEL',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { message: 'expected fatal, error, warn, info, debug, trace or silent' }),
    default: 'info',
    doc: 'pino log level. Logs are JSON on stdout, with PHI and secret fields redacted.',
  }),
  bodyLimitBytes: setting({ env: 'BODY_LIMIT_BYTES', schema: int(1024, 64 * 1024 * 1024), default: '1048576', doc: 'Largest accepted request body.' }),
  maxConnections: setting({
    env: 'MAX_CONNECTIONS',
    schema: int(1, 1_000_000),
    default: '10000',
    doc: 'Open client connections (HTTP and WebSocket) one gateway process accepts; past it, new ones are closed at once instead of exhausting file descriptors and memory.',
  }),
  shutdownGraceMs: setting({ env: 'SHUTDOWN_GRACE_MS', schema: int(0, 120_000), default: '10000', doc: 'How long SIGTERM waits for in-flight requests before closing.' }),
  auditSigningKeyFile: setting({
    env: 'AUDIT_SIGNING_KEY_FILE',
    schema: z.string().min(1).optional(),
    doc: 'Ed25519 private key (PEM) that signs audit checkpoints. Default DATA_DIR/keys/audit-ed25519.pem, created 0600 on first start.',
  }),
  auditCheckpointIntervalSec: setting({
    env: 'AUDIT_CHECKPOINT_INTERVAL_SEC',
    schema: int(0, 86_400),
    default: '300',
    doc: 'Seconds between signed checkpoints of the audit head (0 disables the timer).',
  }),
  masterKey: setting({
    env: 'MASTER_KEY',
    schema: z
      .string()
      .regex(/^[A-Za-z0-9+/_-]{43}=?$/, { message: 'expected 32 random bytes, base64 (openssl rand -base64 32)' })
      .optional(),
    secret: true,
    doc: 'Master key (32 bytes, base64) that wraps every patient data key and TOTP secret. Unset: MASTER_KEY_FILE.',
  }),
  masterKeyFile: setting({
    env: 'MASTER_KEY_FILE',
    schema: z.string().min(1).optional(),
    doc: 'File holding the master key (base64). Default DATA_DIR/keys/master.key, created 0600 on first start outside production.',
  }),
  publicUrl: setting({
    env: 'PUBLIC_URL',
    schema: url(['https', 'http']).optional(),
    doc: 'Origin patients and staff use (links, cookie and WebSocket Origin checks). Default: the listen URL.',
  }),
  allowedOrigins: setting({
    env: 'ALLOWED_ORIGINS',
    schema: z
      .string()
      .max(2048)
      .transform((v) => v.split(',').map((o) => o.trim()).filter((o) => o !== ''))
      .pipe(z.array(z.url({ message: 'expected comma-separated origins like https://clinic.example' })).max(32))
      .optional(),
    doc: 'Extra browser origins allowed to open WebSockets and send cookie-authenticated requests (comma-separated).',
  }),
  sessionIdleTimeoutSec: setting({
    env: 'SESSION_IDLE_TIMEOUT_SEC',
    schema: int(1, 86_400),
    default: '900',
    doc: 'Automatic logoff: a session with no activity for this long ends (HIPAA 164.312(a)(2)(iii)).',
  }),
  sessionAbsoluteTimeoutSec: setting({
    env: 'SESSION_ABSOLUTE_TIMEOUT_SEC',
    schema: int(1, 7 * 86_400),
    default: '43200',
    doc: 'A session ends this long after sign-in, however active.',
  }),
  sessionSweepIntervalMs: setting({
    env: 'SESSION_SWEEP_INTERVAL_MS',
    schema: int(50, 600_000),
    default: '5000',
    doc: 'How often expired sessions are ended (audited, sockets closed) without waiting for their next request.',
  }),
  loginMaxFailures: setting({
    env: 'LOGIN_MAX_FAILURES',
    schema: int(1, 100),
    default: '5',
    doc: 'Failed sign-ins per account within LOGIN_LOCKOUT_SEC before the account is locked for LOGIN_LOCKOUT_SEC.',
  }),
  loginLockoutSec: setting({ env: 'LOGIN_LOCKOUT_SEC', schema: int(1, 86_400), default: '900', doc: 'Failure window and lockout length for sign-in throttling.' }),
  loginMaxFailuresPerIp: setting({
    env: 'LOGIN_MAX_FAILURES_PER_IP',
    schema: int(1, 100_000),
    default: '50',
    doc: 'Failed sign-ins from one client address per hour before that address is blocked for an hour.',
  }),
  breakGlassMinutes: setting({ env: 'BREAK_GLASS_MINUTES', schema: int(1, 1440), default: '60', doc: 'How long an emergency (break-glass) access grant lasts.' }),
  visitLinkLeadMinutes: setting({
    env: 'VISIT_LINK_LEAD_MINUTES',
    schema: int(0, 1440),
    default: '15',
    doc: 'A visit link works from this many minutes before the appointment starts until it ends.',
  }),
  enrollmentCodeTtlHours: setting({ env: 'ENROLLMENT_CODE_TTL_HOURS', schema: int(1, 720), default: '72', doc: 'Lifetime of a patient messaging enrollment code.' }),
  maxDevicesPerAccount: setting({ env: 'MAX_DEVICES_PER_ACCOUNT', schema: int(1, 127), default: '5', doc: 'Messaging devices one account may register.' }),
  prekeyLowWatermark: setting({ env: 'PREKEY_LOW_WATERMARK', schema: int(1, 1000), default: '10', doc: 'A device is told to upload more one-time prekeys when it has fewer than this many left.' }),
  messageTtlDays: setting({ env: 'MESSAGE_TTL_DAYS', schema: int(1, 365), default: '30', doc: 'Envelopes no device acknowledged are purged after this many days (audited).' }),
  envelopeMaxBytes: setting({ env: 'ENVELOPE_MAX_BYTES', schema: int(256, 1_048_576), default: '65536', doc: 'Largest single ciphertext envelope, in bytes.' }),
  messageBatchMaxBytes: setting({ env: 'MESSAGE_BATCH_MAX_BYTES', schema: int(1024, 8_388_608), default: '524288', doc: 'Largest total of the envelopes in one send request, in bytes.' }),
  messageSendPerMinute: setting({ env: 'MESSAGE_SEND_PER_MINUTE', schema: int(1, 100_000), default: '120', doc: 'Send requests one account may make per minute.' }),
  attachmentMaxBytes: setting({ env: 'ATTACHMENT_MAX_BYTES', schema: int(1024, 104_857_600), default: '10485760', doc: 'Largest encrypted attachment upload, in bytes.' }),
  attachmentTtlDays: setting({ env: 'ATTACHMENT_TTL_DAYS', schema: int(1, 365), default: '30', doc: 'Attachments are deleted this many days after upload.' }),
  mediaWorkers: setting({ env: 'MEDIA_WORKERS', schema: int(0, 256), default: '0', doc: 'mediasoup workers (one per core is right); 0 = one per available core.' }),
  mediaWorkerBin: setting({ env: 'MEDIASOUP_WORKER_BIN', schema: z.string().min(1).optional(), doc: 'mediasoup-worker binary. Unset: the one scripts/mediasoup/worker.sh cached, else the package prebuilt.' }),
  rtcMinPort: setting({ env: 'RTC_MIN_PORT', schema: int(1024, 65535), default: '40000', doc: 'Lowest UDP/TCP port for media.' }),
  rtcMaxPort: setting({ env: 'RTC_MAX_PORT', schema: int(1024, 65535), default: '49999', doc: 'Highest UDP/TCP port for media.' }),
  rtcListenIp: setting({ env: 'RTC_LISTEN_IP', schema: z.ipv4().or(z.ipv6()).optional(), doc: 'Address media transports bind. Default: the listen host (127.0.0.1 in development, 0.0.0.0 in production).' }),
  rtcAnnouncedAddress: setting({
    env: 'RTC_ANNOUNCED_ADDRESS',
    schema: z.string().min(1).max(255).optional(),
    doc: 'Public IP or host name put in ICE candidates when the listen address is not reachable as is (NAT, 0.0.0.0).',
  }),
  rtcMaxIncomingBitrate: setting({ env: 'RTC_MAX_INCOMING_BITRATE', schema: int(100_000, 100_000_000), default: '1500000', doc: 'Per-participant cap on the media they send, bits per second.' }),
  videoRoomCapacity: setting({ env: 'VIDEO_ROOM_CAPACITY', schema: int(2, 50), default: '6', doc: 'Participants one visit room holds (lobby included).' }),
  videoEmptyGraceSeconds: setting({ env: 'VIDEO_EMPTY_GRACE_SECONDS', schema: int(0, 3600), default: '120', doc: 'An empty visit room stays open this long for someone to come back.' }),
  videoSignalPerSecond: setting({ env: 'VIDEO_SIGNAL_PER_SECOND', schema: int(1, 1000), default: '30', doc: 'Signaling requests one participant may send per second (bursts up to twice that).' }),
  turnUrls: setting({
    env: 'TURN_URLS',
    schema: z.string().max(2000).optional(),
    doc: 'Comma-separated TURN/STUN URLs handed to visit pages (e.g. turn:turn.example.org:3478?transport=udp,turns:turn.example.org:5349).',
  }),
  turnSecret: setting({ env: 'TURN_SECRET', schema: z.string().min(16).optional(), secret: true, doc: 'coturn static-auth-secret (REST API scheme): visit pages get short-lived TURN credentials derived from it.' }),
  turnTtlSeconds: setting({ env: 'TURN_TTL_SECONDS', schema: int(60, 86_400), default: '3600', doc: 'Lifetime of a TURN credential.' }),
  clinicName: setting({ env: 'CLINIC_NAME', schema: z.string().min(1).max(64), default: 'Your clinic', doc: 'Display name in reminders ({{clinic_name}}) and SMS HELP replies.' }),
  twilioAccountSid: setting({ env: 'TWILIO_ACCOUNT_SID', schema: z.string().regex(/^AC[0-9a-fA-F]{32}$/, { message: 'expected AC followed by 32 hex digits' }).optional(), doc: 'Twilio account for SMS reminders. Unset: SMS is off.' }),
  twilioAuthToken: setting({ env: 'TWILIO_AUTH_TOKEN', schema: z.string().min(16).optional(), secret: true, doc: 'Twilio auth token: sends SMS and validates Twilio webhook signatures.' }),
  twilioFrom: setting({ env: 'TWILIO_FROM', schema: z.string().regex(/^\+[1-9][0-9]{6,14}$/, { message: 'expected an E.164 number' }).optional(), doc: 'Sending number (E.164), unless TWILIO_MESSAGING_SERVICE_SID is set.' }),
  twilioMessagingServiceSid: setting({ env: 'TWILIO_MESSAGING_SERVICE_SID', schema: z.string().regex(/^MG[0-9a-fA-F]{32}$/).optional(), doc: 'Twilio Messaging Service to send from (takes precedence over TWILIO_FROM).' }),
  twilioApiUrl: setting({ env: 'TWILIO_API_URL', schema: url(['https', 'http']).optional(), doc: 'Twilio API base URL override (tests and local development only).' }),
  smtpUrl: setting({ env: 'SMTP_URL', schema: url(['smtp', 'smtps']).optional(), secret: true, doc: 'SMTP server for email reminders (smtp://user:pass@host:587). Unset: email is off.' }),
  smtpFrom: setting({ env: 'SMTP_FROM', schema: z.email().optional(), doc: 'From address of email reminders.' }),
  smtpAllowInsecure: setting({ env: 'SMTP_ALLOW_INSECURE', schema: bool, default: 'false', doc: 'Allow SMTP without STARTTLS (local development only; refused in production).' }),
  quietHoursStart: setting({ env: 'QUIET_HOURS_START', schema: int(0, 23), default: '8', doc: 'Reminders go out from this local hour (patient time zone)…' }),
  quietHoursEnd: setting({ env: 'QUIET_HOURS_END', schema: int(1, 24), default: '21', doc: '…until this local hour; later ones wait for the next morning.' }),
  reminderSmsPerSecond: setting({ env: 'REMINDER_SMS_PER_SECOND', schema: int(1, 1000), default: '1', doc: 'SMS sends per second across all workers (1 for a Twilio long code).' }),
  queuePrefix: setting({
    env: 'QUEUE_PREFIX',
    schema: z.string().regex(/^\{[a-z0-9-]{1,32}\}$/, { message: 'expected a Redis hash tag such as {th}' }),
    default: '{th}',
    doc: 'BullMQ key prefix for the reminder and retention queues (a hash tag: one Redis Cluster slot per queue).',
  }),
  redisKeyPrefix: setting({
    env: 'REDIS_KEY_PREFIX',
    schema: z.string().regex(/^[A-Za-z0-9_.:{}-]{1,64}$/, { message: 'expected up to 64 letters, digits and _ . : { } -, such as th:' }),
    default: 'th:',
    doc: 'Prefix of the gateway’s own Redis keys (sessions, sign-in throttles, delivery notices). Deployments sharing one Redis need different prefixes, and different QUEUE_PREFIX values.',
  }),
  reminderJobLockSeconds: setting({
    env: 'REMINDER_JOB_LOCK_SECONDS',
    schema: int(2, 600),
    default: '30',
    doc: 'How long a reminder worker holds a job without renewing it; a worker that died is noticed (and its jobs handed on) after about this long.',
  }),
  reminderEmailPerSecond: setting({ env: 'REMINDER_EMAIL_PER_SECOND', schema: int(1, 10_000), default: '20', doc: 'Email sends per second across all workers.' }),
} as const;

export type Settings = typeof settings;
type Out<K extends keyof Settings> = z.output<Settings[K]['schema']>;

/** The validated, frozen configuration every process receives from its composition root. */
export type Config = { readonly [K in keyof Settings]: Out<K> } & {
  /** Resolved listen host (defaulted by environment). */
  readonly listenHost: string;
  /** Resolved path of the audit signing key. */
  readonly auditKeyPath: string;
  /** Resolved path of the master key file (used when MASTER_KEY is unset). */
  readonly masterKeyPath: string;
};
