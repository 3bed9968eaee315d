/**
 * The types the service stores, as sniffed from the bytes: photos, video, voice and audio, and
 * documents. Anything else (executables, archives, what no sniffer recognises, such as plain
 * text) is refused, whatever the client declared.
 */
const ALLOWED = new Set([
  'image/jpeg',
  'image/png',
  'image/gif',
  'image/webp',
  'image/heic',
  'image/avif',
  'video/mp4',
  'video/quicktime',
  'video/webm',
  'audio/mpeg',
  'audio/mp4',
  'audio/x-m4a',
  'audio/aac',
  'audio/ogg',
  'audio/opus',
  'audio/wav',
  'audio/webm',
  'application/pdf',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  'application/vnd.oasis.opendocument.text',
  'application/vnd.oasis.opendocument.spreadsheet',
]);

export const isAllowedMime = (mime: string) => ALLOWED.has(mime);

/** Images the server measures and thumbnails: what sharp's prebuilt libvips decodes (not HEVC HEIC). */
export const isThumbnailable = (mime: string) => THUMBNAILABLE.has(mime);
const THUMBNAILABLE = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp', 'image/avif']);
