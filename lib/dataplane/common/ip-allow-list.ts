/**
 * IP allow lists (endpoint ingress, preview pages, key delivery): CIDR blocks matched with node's
 * `net.BlockList`. An empty list allows every address. Verdicts are memoised per address because the
 * check runs on every request and clients are few compared to requests.
 */
import { BlockList, isIPv4, isIPv6 } from 'node:net';

const MEMO_LIMIT = 4096;

export class IpAllowList {
  private readonly blocks = new BlockList();
  private readonly open: boolean;
  private readonly memo = new Map<string, boolean>();

  /** @param cidrs addresses or CIDR blocks, e.g. `127.0.0.1`, `10.0.0.0/8`, `::1/128`; already validated by the manifest schema */
  constructor(cidrs: readonly string[]) {
    this.open = cidrs.length === 0;
    for (const entry of cidrs) {
      const [address, bits] = entry.split('/');
      const type = isIPv6(address) ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.blocks.addAddress(address, type);
      else this.blocks.addSubnet(address, Number(bits), type);
    }
  }

  /** Whether `address` (as `socket.remoteAddress` gives it, IPv4-mapped IPv6 included) may pass. */
  allows(address: string | undefined): boolean {
    if (this.open) return true;
    if (!address) return false;
    const known = this.memo.get(address);
    if (known !== undefined) return known;
    const verdict = this.check(address);
    if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
    this.memo.set(address, verdict);
    return verdict;
  }

  private check(address: string): boolean {
    const mapped = address.startsWith('::ffff:') ? address.slice(7) : address;
    if (isIPv4(mapped)) return this.blocks.check(mapped, 'ipv4') || (mapped !== address && this.blocks.check(address, 'ipv6'));
    return isIPv6(address) && this.blocks.check(address, 'ipv6');
  }
}
