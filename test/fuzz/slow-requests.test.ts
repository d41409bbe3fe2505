/**
 * Slow and oversized requests against a real gateway socket: a slowloris client (headers a byte
 * at a time) is cut off by the server's header timeout; a body declared larger than
 * BODY_LIMIT_BYTES is refused with 413 before a byte of it is sent; a chunked body is refused once
 * it passes the limit, while still streaming. After a 413 the server closes the connection
 * (`Connection: close`) instead of reading the rest of the declared body.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFuzzWorld, type FuzzWorld } from './fuzz-world.ts';

let world: FuzzWorld;
beforeAll(async () => {
  world = await startFuzzWorld();
});
afterAll(async () => {
  await world.close();
});

/** A raw TCP client that records what the server sends and when it closes. */
async function rawClient(): Promise<{ socket: Socket; received: () => string; closed: Promise<number> }> {
  const { hostname, port } = new URL(world.url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => undefined); // EPIPE / ECONNRESET once the server hangs up: that is the point
  const opened = performance.now();
  const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now() - opened)));
  return { socket, received: () => text, closed };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('slow and oversized requests', () => {
  it('cuts off a client that sends its headers a byte at a time (slowloris)', async () => {
    // server.ts: headersTimeout = keepAliveTimeout (5 s without a proxy) + 15 s, checked every 2 s.
    const c = await rawClient();
    const request = `GET /healthz HTTP/1.1\r\nHost: x\r\n${'X-Slow: a\r\n'.repeat(400)}\r\n`;
    let i = 0;
    let cut = false;
    void c.closed.then(() => (cut = true));
    while (!cut && i < request.length) {
      c.socket.write(request[i] ?? '');
      i++;
      await sleep(250);
    }
    const ms = await Promise.race([c.closed, sleep(30_000).then(() => -1)]);
    c.socket.destroy();
    expect(ms, 'the server never cut the slow client off').toBeGreaterThan(0);
    expect(ms).toBeGreaterThanOrEqual(19_000);
    expect(ms).toBeLessThan(26_000);
    expect(i, 'the whole request went through').toBeLessThan(request.length);
    // Node answers 408 when it cuts a request off mid-headers.
    expect(c.received()).toMatch(/^HTTP\/1\.1 408/);
    // The gateway still serves others.
    expect((await fetch(`${world.url}/healthz`)).status).toBe(200);
  }, 40_000);

  it('refuses a body declared past the limit with 413 before a byte of it is sent', async () => {
    const c = await rawClient();
    const token = await world.token('provider');
    const declared = 200 * 1024 * 1024;
    c.socket.write(`POST /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token ?? ''}\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`);
    const deadline = Date.now() + 5_000;
    while (!c.received().includes('\r\n\r\n') && Date.now() < deadline) await sleep(10);
    expect(c.received()).toMatch(/^HTTP\/1\.1 413/);
    expect(c.received()).toContain('payload_too_large');
    expect(c.received().toLowerCase()).toContain('connection: close');
    // Refused on the declared length alone, and the rest is not read: a client that keeps writing
    // is hung up on instead of streaming 200 MiB into a connection that already answered.
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let written = 0;
    let hungUp = false;
    void c.closed.then(() => (hungUp = true));
    const until = Date.now() + 5_000;
    while (!hungUp && Date.now() < until && written < declared) {
      if (!c.socket.write(chunk)) await new Promise((r) => setTimeout(r, 5));
      written += chunk.length;
      await sleep(1);
    }
    c.socket.destroy();
    expect(hungUp, `the server kept reading after its 413 (${written} bytes accepted)`).toBe(true);
  }, 20_000);

  it('refuses a chunked body once it passes the limit, while the client is still sending', async () => {
    const c = await rawClient();
    const token = await world.token('provider');
    c.socket.write(`POST /v1/devices HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token ?? ''}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`);
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    let sent = 0;
    const limit = 1024 * 1024;
    while (!c.received().includes('\r\n\r\n') && sent < 20 * limit) {
      c.socket.write(`${chunk.length.toString(16)}\r\n`);
      c.socket.write(chunk);
      c.socket.write('\r\n');
      sent += chunk.length;
      await sleep(2);
    }
    const deadline = Date.now() + 5_000;
    while (!c.received().includes('\r\n\r\n') && Date.now() < deadline) await sleep(10);
    c.socket.destroy();
    expect(c.received()).toMatch(/^HTTP\/1\.1 413/);
    // Refused within a few chunks past the limit, not after the whole stream.
    expect(sent).toBeLessThan(4 * limit);
  }, 20_000);
});
