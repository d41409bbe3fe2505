/**
 * GET /api/events: the page's live stream (text/event-stream), read with fetch so it can carry
 * the token header. Events only say what changed; the page fetches the data itself. A page that
 * stops reading is cut off (it reconnects) instead of queueing without bound; a keep-alive comment
 * every 15 s keeps idle connections open.
 */
import type { AppEvent } from './api.ts';

const KEEP_ALIVE_MS = 15_000;
/** Bytes queued for a page that does not read before it is cut off. */
const MAX_QUEUED_BYTES = 64 * 1024;

export interface EventSourceLike {
  on(listener: (e: AppEvent) => void): () => void;
}

/** Open streams, so the app can end them when it stops. */
export class EventStreams {
  readonly #open = new Set<() => void>();

  open(source: EventSourceLike, abort: AbortSignal): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let stop = (): void => undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          let done = false;
          const write = (text: string): void => {
            if (done) return;
            if ((controller.desiredSize ?? 0) < -MAX_QUEUED_BYTES) return stop();
            controller.enqueue(encoder.encode(text));
          };
          const off = source.on((e) => write(`event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`));
          const timer = setInterval(() => write(': keep-alive\n\n'), KEEP_ALIVE_MS);
          stop = () => {
            if (done) return;
            done = true;
            off();
            clearInterval(timer);
            abort.removeEventListener('abort', stop);
            this.#open.delete(stop);
            try {
              controller.close();
            } catch {
              // Already cancelled by the reader: nothing left to close.
            }
          };
          this.#open.add(stop);
          abort.addEventListener('abort', stop, { once: true });
          write('event: ready\ndata: {}\n\n');
        },
        cancel: () => stop(),
      },
      { highWaterMark: MAX_QUEUED_BYTES, size: (chunk) => chunk.byteLength },
    );
  }

  closeAll(): void {
    for (const stop of [...this.#open]) stop();
  }
}
