import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { SignJWT, errors as joseErrors, jwtVerify } from 'jose';
import { DomainError } from '../domain/errors.js';
import { keyInDataDir } from '../shared/keyFile.js';
import type { RevocationStore } from './revocations.js';

export interface Principal {
  userId: string;
  deviceId: string;
  /** The token's `jti` and `exp` (seconds), for logout; absent for anonymous and admin callers. */
  token?: { id: string; expiresAt: number };
}

/** Signed, expiring, revocable bearer tokens (HS256 JWTs). */
export class TokenService {
  constructor(
    private readonly key: Uint8Array,
    private readonly ttlSeconds: number,
    private readonly revocations: RevocationStore,
  ) {}

  async issue(userId: string, deviceId: string = randomUUID()): Promise<string> {
    return new SignJWT({ did: deviceId })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(userId)
      .setIssuedAt()
      .setJti(randomUUID())
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  async verify(token: string): Promise<Principal> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      if (!payload.sub || typeof payload.did !== 'string' || !payload.jti || !payload.exp) throw new Error('incomplete token');
      const [revoked, erased] = await Promise.all([this.revocations.isRevoked(payload.jti), this.revocations.isRevoked(erasedUserMark(payload.sub))]);
      if (erased) throw new DomainError('unauthenticated', 'this account was erased');
      if (revoked) throw new DomainError('unauthenticated', 'token revoked: log in again');
      return { userId: payload.sub, deviceId: payload.did, token: { id: payload.jti, expiresAt: payload.exp } };
    } catch (error) {
      if (error instanceof DomainError) throw error;
      const expired = error instanceof joseErrors.JWTExpired;
      throw new DomainError('unauthenticated', expired ? 'token expired' : 'invalid token');
    }
  }

  /** An erased account: every token it holds is refused from now on (they all expire within the token lifetime). */
  async revokeUser(userId: string): Promise<void> {
    await this.revocations.revoke(erasedUserMark(userId), Math.floor(Date.now() / 1000) + this.ttlSeconds);
  }

  /** Logout: the token is refused from now on, also after a restart. */
  async revoke(principal: Principal): Promise<void> {
    if (!principal.token) throw new DomainError('unauthenticated', 'no user token to revoke');
    await this.revocations.revoke(principal.token.id, principal.token.expiresAt);
  }
}

/** Kept among the revoked token ids: no token id (a UUID) has this form. */
const erasedUserMark = (userId: string) => `erased-user:${userId}`;

/**
 * The signing key: AUTH_SECRET when configured, else a random key generated on first start and
 * kept in DATA_DIR, so tokens survive restarts.
 */
export function loadSigningKey(secret: string | undefined, dataDir: string): Uint8Array {
  return secret ? new TextEncoder().encode(secret) : keyInDataDir(dataDir, 'auth.key');
}

/** The token from `Authorization: Bearer <token>`, or from `?token=` where headers cannot be set. */
export function bearerToken(authorization: string | undefined, queryToken?: string | null): string | null {
  const match = authorization?.match(/^Bearer\s+(\S+)$/i);
  return match?.[1] ?? queryToken ?? null;
}

/** Compares a presented secret with the configured one in constant time (hashed to equal lengths first). */
export function sameSecret(given: string, expected: string): boolean {
  return timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());
}
