/**
 * Errors the media layer throws toward a participant. Codes are the signaling protocol's
 * (core/protocol/video.ts); messages say what happened and what to do, and name no one.
 */
import { AppError } from '../core/errors.ts';
import { VideoErrorCode } from '../core/protocol/video.ts';

export class MediaError extends AppError {
  constructor(status: number, code: VideoErrorCode, message: string, options?: { cause?: unknown }) {
    super(status, code, message, options);
    this.name = 'MediaError';
  }
}

export class MediaUnavailableError extends MediaError {
  constructor() {
    super(503, VideoErrorCode.unavailable, 'No media server is available right now; try again in a few seconds');
    this.name = 'MediaUnavailableError';
  }
}

/** mediasoup refused what the client sent (bad RTP/DTLS parameters, unsupported codec). */
export function invalidRtp(cause: unknown): MediaError {
  return new MediaError(400, VideoErrorCode.invalidRtp, 'The media parameters were refused (malformed or unsupported)', { cause });
}
