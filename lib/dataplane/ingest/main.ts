/** Entry point of the ingest workload (`livestack dataplane ingest`). */
export async function run(): Promise<void> {
  throw new Error('the ingest workload is not built yet');
}
