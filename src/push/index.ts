export { FcmSender, fcmOptionsFromConfig, type FcmOptions, type PushSender } from './fcm.js';
export { PushWorker, PUSH_CHECKPOINT } from './worker.js';
