import * as http from 'node:http';
import { Forwarding } from '../../lib/dataplane/common/forwarding-trust';

/** Whose forwarded headers a server believes: declared proxies and livestack's balancer (with its proof) only. */

function request(remoteAddress: string, headers: Record<string, string>): http.IncomingMessage {
  return { socket: { remoteAddress }, headers } as unknown as http.IncomingMessage;
}

describe('forwarded headers', () => {
  test('ignores X-Forwarded-For and -Host from a client that is no declared proxy', () => {
    const trust = new Forwarding({ trustedProxies: [] });
    const forged = request('203.0.113.9', { 'x-forwarded-for': '10.0.0.1', 'x-forwarded-host': 'evil.example' });
    expect(trust.clientAddress(forged)).toBe('203.0.113.9');
    expect(trust.forwardedHost(forged)).toBeUndefined();
  });

  test('believes a declared proxy: the rightmost hop that is not a proxy is the client', () => {
    const trust = new Forwarding({ trustedProxies: ['10.1.0.0/16'] });
    const proxied = request('10.1.0.5', { 'x-forwarded-for': '1.2.3.4, 198.51.100.7, 10.1.0.9', 'x-forwarded-host': 'Live.Example.com', 'x-forwarded-proto': 'https' });
    expect(trust.clientAddress(proxied)).toBe('198.51.100.7');
    expect(trust.forwardedHost(proxied)).toEqual({ host: 'live.example.com', proto: 'https' });
  });

  test('refuses a malformed forwarded host even from a declared proxy', () => {
    const trust = new Forwarding({ trustedProxies: ['10.1.0.5'] });
    expect(trust.forwardedHost(request('10.1.0.5', { 'x-forwarded-host': 'evil.example/"x' }))).toBeUndefined();
    expect(trust.forwardedHost(request('10.1.0.5', { 'x-forwarded-host': 'a.example', 'x-forwarded-proto': 'javascript' }))).toBeUndefined();
  });

  test('believes the balancer only with its proof, whatever address it comes from', () => {
    const trust = new Forwarding({ trustedProxies: [], balancerToken: 'proof-token-value' });
    expect(trust.clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7', 'x-livestack-balancer': 'proof-token-value' }))).toBe('198.51.100.7');
    expect(trust.clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7', 'x-livestack-balancer': 'a-guess' }))).toBe('127.0.0.1');
    expect(trust.clientAddress(request('127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }))).toBe('127.0.0.1');
  });
});
