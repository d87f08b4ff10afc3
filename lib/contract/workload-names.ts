/**
 * Workload names: deterministic, DNS-safe, and shared by every engine (container, service and object
 * names; a balancer reaches its replicas by them).
 */
import { createHash } from 'node:crypto';

/** Docker names are DNS labels: keep them readable and unique when the parts are long. */
export function workloadName(...parts: string[]): string {
  const name = ['ls', ...parts].join('-');
  if (name.length <= 63) return name;
  return `${name.slice(0, 50)}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}
