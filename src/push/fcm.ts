import { randomUUID } from 'node:crypto';
import { Agent } from 'node:https';
import { applicationDefault, cert, deleteApp, initializeApp, type App, type Credential } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';
import type { Config } from '../config.js';
import type { PushPayload, TokenResult } from './decide.js';

/** How a push reaches FCM; production builds it from configuration, tests point it at a stand-in. */
export interface FcmOptions {
  credential: Credential;
  /** Needed when the credential names no project (application default credentials on some hosts). */
  projectId?: string;
  /** Carries every FCM request; see FcmSender for why all of them. */
  httpAgent: Agent;
}

/** The port the push worker sends through. */
export interface PushSender {
  /** One result per token, in order. Rejects when the request as a whole failed. */
  send(tokens: string[], payload: PushPayload): Promise<TokenResult[]>;
  close(): Promise<void>;
}

/** FCM accepts at most this many messages in one sendEach call. */
const FCM_MAX_BATCH = 500;

/** FCM options from FCM_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS; null when neither is set (push off). */
export function fcmOptionsFromConfig(config: Config): FcmOptions | null {
  if (!config.FCM_SERVICE_ACCOUNT && !config.GOOGLE_APPLICATION_CREDENTIALS) return null;
  // Bounded keep-alive pool: a burst of pushes reuses connections instead of opening one per token.
  const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });
  if (config.FCM_SERVICE_ACCOUNT) {
    const { project_id, client_email, private_key } = config.FCM_SERVICE_ACCOUNT;
    return {
      credential: cert({ projectId: project_id, clientEmail: client_email, privateKey: private_key }, httpAgent),
      projectId: config.FCM_PROJECT_ID ?? project_id,
      httpAgent,
    };
  }
  // Google's auth library reads the file GOOGLE_APPLICATION_CREDENTIALS names itself, so every
  // credential type it supports works (service account, workload identity federation, ...).
  return { credential: applicationDefault(httpAgent), projectId: config.FCM_PROJECT_ID, httpAgent };
}

/**
 * Sends through firebase-admin's FCM HTTP v1 client. It uses the HTTP/1.1 transport: the HTTP/2
 * one opens its own session to fcm.googleapis.com and ignores `httpAgent`, so it could go neither
 * through a connection pool or egress proxy of ours nor to the tests' stand-in. One transport for
 * production and tests means the tests exercise the requests production makes.
 */
export class FcmSender implements PushSender {
  private readonly app: App;
  private readonly messaging: Messaging;

  constructor(private readonly options: FcmOptions) {
    // A named app per sender: several servers (tests) can live in one process.
    this.app = initializeApp(
      { credential: options.credential, httpAgent: options.httpAgent, ...(options.projectId ? { projectId: options.projectId } : {}) },
      `push-${randomUUID()}`,
    );
    this.messaging = getMessaging(this.app);
    this.messaging.enableLegacyHttpTransport();
  }

  async send(tokens: string[], payload: PushPayload): Promise<TokenResult[]> {
    const results: TokenResult[] = [];
    for (let i = 0; i < tokens.length; i += FCM_MAX_BATCH) {
      const chunk = tokens.slice(i, i + FCM_MAX_BATCH);
      const batch = await this.messaging.sendEachForMulticast({ ...payload, tokens: chunk });
      batch.responses.forEach((r, j) => results.push(r.success ? { token: chunk[j]! } : { token: chunk[j]!, errorCode: r.error?.code ?? 'unknown' }));
    }
    return results;
  }

  async close(): Promise<void> {
    await deleteApp(this.app);
    this.options.httpAgent.destroy();
  }
}
