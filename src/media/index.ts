export type { BlobStore, ByteRange, StoredObject } from './blobStore.js';
export { FsBlobStore } from './fsBlobStore.js';
export { downloadAnswer, immutableHeaders, cachedAnswer, type DownloadAnswer } from './http.js';
export { mediaHash } from './keys.js';
export { MediaLibrary, mediaInfo, type MediaInfo, type MediaLibraryOptions, type MessageVisibility } from './library.js';
export { openBlobStore, type OpenedBlobStore } from './open.js';
export { conversationVisibility } from './visibility.js';
export { collectGarbage, type GcOptions, type Unreferenced } from './gc.js';
