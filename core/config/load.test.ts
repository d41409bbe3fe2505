import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, redactConfig } from './load.ts';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return [...err.problems];
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('gives sensible, frozen defaults for a laptop', () => {
    const cfg = loadConfig({});
    expect(cfg.env).toBe('development');
    expect(cfg.port).toBe(8080);
    expect(cfg.listenHost).toBe('127.0.0.1');
    expect(path.isAbsolute(cfg.dataDir)).toBe(true);
    expect(cfg.auditKeyPath).toBe(path.join(cfg.dataDir, 'keys', 'audit-ed25519.pem'));
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('names each bad variable and what it expects', () => {
    const problems = problemsOf({ PORT: 'eighty', LOG_LEVEL: 'loud', TRUST_PROXY: 'maybe', BODY_LIMIT_BYTES: '10' });
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^PORT: expected a whole number \(got "eighty"\)/),
        expect.stringMatching(/^LOG_LEVEL: expected fatal, error, warn, info/),
        expect.stringMatching(/^TRUST_PROXY: expected true or false/),
        expect.stringMatching(/^BODY_LIMIT_BYTES: expected at least 1024/),
      ]),
    );
  });

  it('never echoes a secret value in an error', () => {
    const problems = problemsOf({ DATABASE_URL: 'mysql://admin:hunter2@db/x', REDIS_URL: 'nope-hunter3' });
    expect(problems.join('\n')).not.toMatch(/hunter/);
    expect(problems).toEqual(
      expect.arrayContaining([expect.stringMatching(/^DATABASE_URL: expected a URL starting with postgres:\/\//), expect.stringMatching(/^REDIS_URL:/)]),
    );
  });

  it('refuses plain HTTP in production unless TLS or a trusted proxy is configured', () => {
    expect(problemsOf({ APP_ENV: 'production' })[0]).toMatch(/refuses plain HTTP.*TLS_CERT_FILE.*TRUST_PROXY=true/);
    expect(problemsOf({ APP_ENV: 'production', TLS_CERT_FILE: '/c.pem' })[0]).toMatch(/set both/);
    const behindProxy = loadConfig({ APP_ENV: 'production', TRUST_PROXY: 'true' });
    expect(behindProxy.listenHost).toBe('0.0.0.0');
    expect(loadConfig({ APP_ENV: 'production', TLS_CERT_FILE: '/c.pem', TLS_KEY_FILE: '/k.pem' }).tlsCertFile).toBe('/c.pem');
  });

  it('refuses reminder and media settings that cannot work together, naming what to set', () => {
    expect(problemsOf({ APP_ENV: 'production', TRUST_PROXY: 'true', SMTP_ALLOW_INSECURE: 'true' }).join('\n')).toMatch(/SMTP_ALLOW_INSECURE: not allowed/);
    expect(problemsOf({ QUIET_HOURS_START: '21', QUIET_HOURS_END: '8' }).join('\n')).toMatch(/QUIET_HOURS_END: must be later/);
    expect(problemsOf({ RTC_MIN_PORT: '50000', RTC_MAX_PORT: '40000' }).join('\n')).toMatch(/RTC_MAX_PORT/);
    expect(problemsOf({ TWILIO_ACCOUNT_SID: `AC${'0'.repeat(32)}` }).join('\n')).toMatch(/TWILIO_AUTH_TOKEN and TWILIO_FROM/);
    expect(problemsOf({ SMTP_URL: 'smtp://mail.example.org:587' }).join('\n')).toMatch(/SMTP_FROM/);
  });

  it('overlays CONFIG_FILE under the environment and rejects unknown keys', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cfg-'));
    try {
      const file = path.join(dir, 'c.json');
      writeFileSync(file, JSON.stringify({ PORT: 9000, LOG_LEVEL: 'warn' }));
      const cfg = loadConfig({ CONFIG_FILE: file, LOG_LEVEL: 'debug' });
      expect(cfg.port).toBe(9000);
      expect(cfg.logLevel).toBe('debug');
      writeFileSync(file, JSON.stringify({ PROT: 1 }));
      expect(problemsOf({ CONFIG_FILE: file })).toEqual(['CONFIG_FILE: unknown variable PROT']);
      writeFileSync(file, '{not json');
      expect(problemsOf({ CONFIG_FILE: file })[0]).toMatch(/not valid JSON/);
      expect(problemsOf({ CONFIG_FILE: path.join(dir, 'missing.json') })[0]).toMatch(/cannot read .* \(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('redacts passwords when printing', () => {
    const shown = redactConfig(loadConfig({ DATABASE_URL: 'postgres://u:pw-secret@h:5432/d', REDIS_URL: 'redis://:r-secret@h:6379' }));
    expect(JSON.stringify(shown)).not.toMatch(/secret/);
    expect(shown['DATABASE_URL']).toBe('postgres://u:***@h:5432/d');
  });
});
