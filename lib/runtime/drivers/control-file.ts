/**
 * Live config delivery through the account storage: the control file a workload watches
 * (`<storage>/control/<workload>.json`, see lib/contract/storage-layout.ts), written atomically. How the
 * local and docker drivers deliver it; engines that cannot reach the storage deliver it their own way.
 */
import { storagePaths } from '../../contract/storage-layout';
import { WorkloadSpec } from '../../contract/workload-spec';
import { writeFileAtomic } from '../../util/files';

export function writeControlFile(storage: string, spec: Pick<WorkloadSpec, 'name' | 'liveConfig'>): void {
  writeFileAtomic(storagePaths.controlFile(storage, spec.name), `${JSON.stringify(spec.liveConfig ?? null)}\n`);
}
