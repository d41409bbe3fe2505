import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeContent, encodeContent, pad, PAD_BLOCK, unpad, type ContentInput } from './content.ts';

describe('content padding and format', () => {
  it('pads to a multiple of 160 bytes and round-trips, including exact-block and empty inputs', () => {
    for (const n of [0, 1, 159, 160, 161, 500]) {
      const data = new Uint8Array(n).fill(7);
      const padded = pad(data);
      expect(padded.length % PAD_BLOCK).toBe(0);
      expect(padded.length).toBeGreaterThan(n);
      expect(Buffer.from(unpad(padded))).toEqual(Buffer.from(data));
    }
  });
  it('refuses bad padding', () => {
    expect(() => unpad(new Uint8Array(160))).toThrow(/padding/);
  });
  it('round-trips text with attachment pointers and receipts; refuses unknown versions', () => {
    const text: ContentInput = { v: 1, kind: 'text', clientId: randomUUID(), sentAt: 5, text: 'hello', attachments: [{ id: randomUUID(), key: Buffer.alloc(64, 1).toString('base64'), digest: Buffer.alloc(32, 2).toString('base64') }] };
    expect(decodeContent(encodeContent(text))).toEqual(text);
    const receipt: ContentInput = { v: 1, kind: 'receipt', receipt: 'read', clientIds: [randomUUID()], sentAt: 9 };
    expect(decodeContent(encodeContent(receipt))).toEqual(receipt);
    expect(() => decodeContent(pad(Buffer.from(JSON.stringify({ ...receipt, v: 2 }))))).toThrow(/unknown version/);
  });
});
