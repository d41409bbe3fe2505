/**
 * Loads configuration once: optional JSON file (CONFIG_FILE) overlaid by the environment,
 * validated with zod, cross-checked, frozen. Errors name the variable and what is expected and
 * never echo a secret value.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { StartupError } from '../errors.ts';
import { settings, type Config, type Settings } from './schema.ts';

export class ConfigError extends StartupError {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, 'Fix the variables above (see the configuration table in README.md) and start again.');
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function readConfigFile(file: string): Record<string, string> {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([`CONFIG_FILE: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`]);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new ConfigError([`CONFIG_FILE: ${file} is not valid JSON; expected an object of VARIABLE: "value" pairs`]);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError([`CONFIG_FILE: ${file} must hold a JSON object of VARIABLE: "value" pairs`]);
  }
  const known = new Set(Object.values(settings).map((s) => s.env));
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const [k, v] of Object.entries(parsed)) {
    if (!known.has(k)) problems.push(`CONFIG_FILE: unknown variable ${k}`);
    else if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = String(v);
    else problems.push(`CONFIG_FILE: ${k} must be a string, number or boolean`);
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out;
}

/** Validate `env` (defaults to process.env) into a frozen Config, or throw ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const fileValues = env['CONFIG_FILE'] ? readConfigFile(env['CONFIG_FILE']) : {};
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [keyof Settings, Settings[keyof Settings]][]) {
    const fromEnv = env[s.env];
    const raw = fromEnv !== undefined && fromEnv !== '' ? fromEnv : (fileValues[s.env] ?? ('default' in s ? s.default : undefined));
    const result = s.schema.safeParse(raw);
    if (result.success) out[key] = result.data;
    else {
      const why = result.error.issues[0]?.message ?? 'invalid value';
      const shown = 'secret' in s && s.secret ? '' : raw === undefined ? '' : ` (got "${String(raw).slice(0, 80)}")`;
      problems.push(`${s.env}: ${why}${shown}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const cfg = out as { -readonly [K in keyof Config]: Config[K] };
  if ((cfg.tlsCertFile === undefined) !== (cfg.tlsKeyFile === undefined)) {
    problems.push('TLS_CERT_FILE and TLS_KEY_FILE: set both (HTTPS) or neither');
  }
  if (cfg.env === 'production' && cfg.tlsCertFile === undefined && !cfg.trustProxy) {
    problems.push(
      'APP_ENV=production refuses plain HTTP: set TLS_CERT_FILE and TLS_KEY_FILE, or TRUST_PROXY=true when a TLS-terminating proxy sits in front',
    );
  }
  if (cfg.env === 'production' && cfg.smtpAllowInsecure) problems.push('SMTP_ALLOW_INSECURE: not allowed with APP_ENV=production (reminder emails need STARTTLS)');
  if (cfg.env === 'production' && cfg.twilioApiUrl !== undefined) problems.push('TWILIO_API_URL: only for tests and local development; unset it in production');
  if (cfg.quietHoursEnd <= cfg.quietHoursStart) problems.push('QUIET_HOURS_END: must be later than QUIET_HOURS_START');
  if (cfg.rtcMaxPort < cfg.rtcMinPort) problems.push('RTC_MAX_PORT: must not be below RTC_MIN_PORT');
  if (cfg.twilioAccountSid !== undefined && (cfg.twilioAuthToken === undefined || (cfg.twilioFrom === undefined && cfg.twilioMessagingServiceSid === undefined))) {
    problems.push('TWILIO_ACCOUNT_SID: also set TWILIO_AUTH_TOKEN and TWILIO_FROM (or TWILIO_MESSAGING_SERVICE_SID)');
  }
  if (cfg.smtpUrl !== undefined && cfg.smtpFrom === undefined) problems.push('SMTP_URL: also set SMTP_FROM');
  if (problems.length > 0) throw new ConfigError(problems);

  cfg.dataDir = path.resolve(cfg.dataDir);
  cfg.listenHost = cfg.host ?? (cfg.env === 'production' ? '0.0.0.0' : '127.0.0.1');
  cfg.auditKeyPath = cfg.auditSigningKeyFile ?? path.join(cfg.dataDir, 'keys', 'audit-ed25519.pem');
  cfg.masterKeyPath = cfg.masterKeyFile ?? path.join(cfg.dataDir, 'keys', 'master.key');
  return Object.freeze(cfg);
}

/** Config for printing: secrets replaced, passwords stripped from URLs. */
export function redactConfig(cfg: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings) as [keyof Settings, Settings[keyof Settings]][]) {
    const v = cfg[key];
    out[s.env] = v === undefined ? undefined : 'secret' in s && s.secret ? redactUrl(String(v)) : v;
  }
  return out;
}

function redactUrl(v: string): string {
  try {
    const u = new URL(v);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '***';
  }
}
