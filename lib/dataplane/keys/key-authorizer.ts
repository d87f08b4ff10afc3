/**
 * Decides whether a key request satisfies a key policy: `open` always, `ip` by the client address,
 * `token` by a JWT from `Authorization: Bearer` or the `token` query parameter (for players, such as
 * Safari's native one, that cannot set headers on key requests).
 */
import { KeyPolicyManifest } from '../../model/manifest';
import { IpAllowList } from '../common/ip-allow-list';
import { TokenVerifier, Verdict } from './token-verifier';

export interface KeyRequest {
  readonly clientAddress: string | undefined;
  readonly authorization: string | undefined;
  readonly query: string;
}

/** A verdict with its HTTP status; `invalidToken` when a token was presented and failed (RFC 6750 error code). */
export type Decision = Verdict & { readonly status?: 401 | 403; readonly invalidToken?: boolean };

export class KeyAuthorizer {
  private readonly check: (request: KeyRequest) => Promise<Decision>;

  constructor(readonly policy: KeyPolicyManifest, storageDir: string, env: NodeJS.ProcessEnv = process.env) {
    const restriction = policy.restriction;
    switch (restriction.type) {
      case 'open':
        this.check = async () => ({ ok: true });
        break;
      case 'ip': {
        const allowList = new IpAllowList(restriction.allowList);
        this.check = async (request) => (allowList.allows(request.clientAddress)
          ? { ok: true }
          : { ok: false, status: 403, reason: 'your address is not allowed by this key policy' });
        break;
      }
      case 'token': {
        const verifier = TokenVerifier.create(restriction, storageDir, env);
        this.check = async (request) => {
          const token = bearerToken(request.authorization) ?? queryToken(request.query);
          if (!token) return { ok: false, status: 401, reason: 'a token is required (Authorization: Bearer, or the token query parameter)' };
          const verdict = await verifier.verify(token);
          return verdict.ok ? verdict : { ...verdict, status: 401, invalidToken: true };
        };
        break;
      }
    }
  }

  authorize(request: KeyRequest): Promise<Decision> {
    return this.check(request);
  }
}

function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
  return match?.[1];
}

function queryToken(query: string): string | undefined {
  if (!query.includes('token=')) return undefined;
  return new URLSearchParams(query).get('token') || undefined;
}
