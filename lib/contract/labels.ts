/**
 * The labels every workload carries, on every engine (Docker labels, Swarm service labels, the local
 * driver's records, Kubernetes annotations): how livestack recognises and explains what it runs.
 */

/** Labels every workload carries (Docker labels, and the local driver's records). */
export const LABELS = {
  managedBy: 'livestack.managed-by',
  account: 'livestack.account',
  role: 'livestack.role',
  owner: 'livestack.owner',
  specHash: 'livestack.spec-hash',
  liveHash: 'livestack.live-hash',
} as const;
