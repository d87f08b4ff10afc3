/**
 * Which proxies a server believes, and what it believes from them. Forwarded headers (X-Forwarded-For,
 * -Host, -Proto) are anyone's to write, so they count only on a request whose peer is a proxy the
 * endpoint declared (`trustedProxies`), or that carries the livestack balancer's proof
 * (contract/forwarding.ts). Everyone else is who their socket says.
 */
import * as http from 'node:http';
import { BALANCER_PROOF_HEADER } from '../../contract/forwarding';
import { constantTimeEqual } from '../secrets';
import { IpAllowList } from './ip-allow-list';

export interface ForwardingTrust {
  /** Addresses or CIDR blocks of proxies in front of the endpoint; empty: none. */
  readonly trustedProxies: readonly string[];
  /** The balancer's proof token, when this server sits behind livestack's balancer. */
  readonly balancerToken?: string;
}

export class Forwarding {
  private readonly proxies?: IpAllowList;

  constructor(private readonly trust: ForwardingTrust) {
    // An empty IpAllowList allows everyone; no declared proxy must mean nobody is trusted.
    this.proxies = trust.trustedProxies.length > 0 ? new IpAllowList(trust.trustedProxies) : undefined;
  }

  /** Whether the request's forwarded headers may be believed. */
  fromTrustedProxy(req: http.IncomingMessage): boolean {
    const proof = req.headers[BALANCER_PROOF_HEADER];
    if (this.trust.balancerToken !== undefined && typeof proof === 'string' && constantTimeEqual(proof, this.trust.balancerToken)) return true;
    return this.isProxy(req.socket.remoteAddress);
  }

  /**
   * The client's address: the socket's, unless a trusted proxy forwarded the request; then the
   * rightmost X-Forwarded-For hop that is not itself a trusted proxy (hops to its left are the
   * client's to write, so they are never believed).
   */
  clientAddress(req: http.IncomingMessage): string | undefined {
    const socket = req.socket.remoteAddress;
    if (!this.fromTrustedProxy(req)) return socket;
    const forwarded = req.headers['x-forwarded-for'];
    const hops = (Array.isArray(forwarded) ? forwarded.join(',') : forwarded ?? '').split(',').map((hop) => hop.trim()).filter((hop) => hop !== '');
    for (let i = hops.length - 1; i >= 0; i--) {
      if (i === 0 || !this.isProxy(hops[i])) return hops[i];
    }
    return socket;
  }

  /** `X-Forwarded-Host` and `-Proto` of a trusted proxy's request, when well formed. */
  forwardedHost(req: http.IncomingMessage): { readonly host: string; readonly proto: 'http' | 'https' } | undefined {
    if (!this.fromTrustedProxy(req)) return undefined;
    const host = firstValue(req.headers['x-forwarded-host']);
    const proto = firstValue(req.headers['x-forwarded-proto']) ?? 'http';
    if (!host || !/^[A-Za-z0-9.-]{1,253}$/.test(host) || (proto !== 'http' && proto !== 'https')) return undefined;
    return { host: host.toLowerCase(), proto };
  }

  private isProxy(address: string | undefined): boolean {
    return this.proxies !== undefined && this.proxies.allows(address);
  }
}

function firstValue(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  return text?.split(',')[0].trim() || undefined;
}
