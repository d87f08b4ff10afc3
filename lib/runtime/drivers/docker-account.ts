/**
 * An account's shared Docker resources: its network (workloads reach each other by name there) and its
 * storage volume. Created when missing, labelled as livestack's, never removed by a workload's delete
 * (the volume holds recordings and content keys).
 */
import type Docker from 'dockerode';
import { LABELS } from '../../contract/labels';
import { engineMessage, engineStatus } from './docker-client';

function accountLabels(account: string): Record<string, string> {
  return { [LABELS.managedBy]: 'livestack', [LABELS.account]: account };
}

/** The network named `name`, created (bridge, labelled) when missing. */
export async function ensureNetwork(docker: Docker, name: string, account: string): Promise<void> {
  try {
    await docker.getNetwork(name).inspect();
    return;
  } catch (error) {
    if (engineStatus(error) !== 404) throw new Error(`network ${name}: ${engineMessage(error)}`);
  }
  try {
    // CheckDuplicate: older engines would otherwise accept a second network of the same name.
    await docker.createNetwork({ Name: name, Driver: 'bridge', CheckDuplicate: true, Labels: accountLabels(account) });
  } catch (error) {
    // Created meanwhile by another runtime or by Terraform: what we wanted exists.
    if (engineStatus(error) !== 409) throw new Error(`creating network ${name}: ${engineMessage(error)}`);
  }
}

/** The volume named `name`, created (local driver, labelled) when missing; returns its host mountpoint. */
export async function ensureVolume(docker: Docker, name: string, account: string): Promise<string> {
  try {
    return ((await docker.getVolume(name).inspect()) as { Mountpoint: string }).Mountpoint;
  } catch (error) {
    if (engineStatus(error) !== 404) throw new Error(`volume ${name}: ${engineMessage(error)}`);
  }
  // Creating a volume that exists returns it unchanged, so a race with another creator is harmless.
  await docker.createVolume({ Name: name, Driver: 'local', Labels: accountLabels(account) });
  return ((await docker.getVolume(name).inspect()) as { Mountpoint: string }).Mountpoint;
}

/** Mountpoint of the livestack-labelled volume of `account`, if the engine has one. */
export async function labelledVolumeMountpoint(docker: Docker, account: string): Promise<string | undefined> {
  const { Volumes } = await docker.listVolumes({
    filters: { label: [`${LABELS.managedBy}=livestack`, `${LABELS.account}=${account}`] },
  });
  return Volumes?.[0]?.Mountpoint;
}
