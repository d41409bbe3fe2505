/**
 * Bench target process for `npm run bench -- media` (load-tests/bench/media.ts starts it by path;
 * load tests import nothing from the server folders). It runs one mediasoup worker through
 * fanout.ts and takes orders over a tiny loopback HTTP JSON protocol:
 *
 *   GET  /info       → { workerPid }
 *   POST /producer   { ssrc, payloadType }   → { ip, port }      where to send the VP8 RTP
 *   POST /consumers  { count, sinks: [{ip, port}] } → { ssrcs }  grow/shrink to `count`
 *
 * Prints its port on the first stdout line; closes the worker and exits on SIGTERM / SIGINT.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { z } from 'zod';
import { createFanout, type Fanout } from './fanout.ts';

const MAX_BODY_BYTES = 64 * 1024;
const MAX_CONSUMERS = 5000;

const address = z.object({ ip: z.ipv4(), port: z.int().min(1).max(65535) });
const producerBody = z.object({ ssrc: z.int().min(1).max(0xffffffff), payloadType: z.int().min(96).max(127) });
const consumersBody = z.object({ count: z.int().min(0).max(MAX_CONSUMERS), sinks: z.array(address).min(1).max(64) });

type Handler = (fanout: Fanout, body: unknown) => Promise<unknown>;

const ROUTES: Readonly<Record<string, Handler>> = {
  'GET /info': (fanout) => Promise.resolve({ workerPid: fanout.workerPid }),
  'POST /producer': (fanout, body) => fanout.produce(producerBody.parse(body)),
  'POST /consumers': async (fanout, body) => {
    const { count, sinks } = consumersBody.parse(body);
    return { ssrcs: await fanout.setConsumers(count, sinks) };
  },
};

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new Error('body too large');
    chunks.push(chunk);
  }
  return size === 0 ? {} : (JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

const fanout = await createFanout({
  // A dead worker must fail the bench, not let it measure silence.
  onDied: (err) => {
    process.stderr.write(`mediasoup worker died: ${err.message}\n`);
    process.exit(1);
  },
});
const server = createServer((req, res) => {
  const handler = ROUTES[`${req.method ?? ''} ${req.url ?? ''}`];
  if (handler === undefined) {
    reply(res, 404, { error: 'not found' });
    return;
  }
  readJson(req)
    .then((body) => handler(fanout, body))
    .then(
      (result) => reply(res, 200, result),
      // The bench is the only client, on loopback: it wants the reason to print it.
      (err: unknown) => reply(res, 400, { error: err instanceof Error ? err.message : String(err) }),
    );
});
server.listen(0, '127.0.0.1', () => {
  const where = server.address();
  if (where === null || typeof where === 'string') throw new Error('no TCP address');
  process.stdout.write(`${where.port}\n`);
});

const stop = (): void => {
  fanout.close();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
