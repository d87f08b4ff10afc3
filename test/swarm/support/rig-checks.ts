/**
 * What the swarm suite checks the multi-host rig (scripts/rig) with: what of it is left on this machine,
 * a one-off container on one node, where a service's task runs.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { RIG_NAMES, SwarmRig, SwarmRigNode } from '../../../scripts/rig/swarm-rig';

/** Everything of the rig still on this machine, as a list of findings (empty when it is all gone). */
export function rigLeftovers(): string[] {
  const found: string[] = [];
  const lines = (command: string, args: string[]) => execFileSync(command, args, { encoding: 'utf8' }).split('\n').filter(Boolean);
  found.push(...lines('ip', ['netns', 'list']).filter((l) => l.startsWith(RIG_NAMES.prefix)).map((l) => `netns ${l}`));
  found.push(...lines('ip', ['-o', 'link', 'show']).map((l) => l.split(': ')[1]).filter((name) => name?.startsWith(RIG_NAMES.prefix)).map((l) => `link ${l}`));
  found.push(...lines('iptables', ['-S']).filter((l) => l.includes(RIG_NAMES.bridge)).map((l) => `iptables ${l}`));
  for (const pid of fs.readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let args = '';
    try {
      args = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue;
    }
    if (args.includes(`${RIG_NAMES.runDir}/`) || args.includes(`--exec-root ${RIG_NAMES.runDir}`)) found.push(`process ${pid}: ${args}`);
  }
  const mounts = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map((l) => l.split(' ')[4]).filter(Boolean);
  found.push(...mounts.filter((m) => m.startsWith(`${RIG_NAMES.runDir}/`) || m.startsWith(`${RIG_NAMES.root}/`) || m.startsWith(`/run/netns/${RIG_NAMES.prefix}`)).map((m) => `mount ${m}`));
  if (fs.existsSync(RIG_NAMES.runDir)) found.push(`directory ${RIG_NAMES.runDir}`);
  return found;
}

/** Runs a shell command in a one-off container on `node` (the shared directory mounted); resolves with its output. */
export async function runOnNode(rig: SwarmRig, node: SwarmRigNode, image: string, script: string, user: string): Promise<string> {
  const container = await node.docker.createContainer({
    Image: image,
    Entrypoint: ['sh', '-c'],
    Cmd: [script],
    User: user,
    Tty: true,
    HostConfig: { Binds: [`${rig.sharedDir}:${rig.sharedDir}`] },
  });
  try {
    await container.start();
    const { StatusCode } = await container.wait() as { StatusCode: number };
    const output = (await container.logs({ stdout: true, stderr: true })).toString().replace(/\r/g, '').trim();
    if (StatusCode !== 0) throw new Error(`on ${node.name}, \`${script}\` exited with ${StatusCode}: ${output}`);
    return output;
  } finally {
    await container.remove({ force: true });
  }
}

/** The swarm node ids running the service's tasks, as `manager` sees them (errors during a raft election: none). */
export async function runningTaskNodes(manager: SwarmRigNode, service: string): Promise<string[]> {
  const tasks = await manager.docker.listTasks({ filters: { service: [service], 'desired-state': ['running'] } }).catch(() => []) as { NodeID?: string; Status?: { State?: string } }[];
  return tasks.filter((t) => t.Status?.State === 'running').map((t) => t.NodeID ?? '');
}
