/** Entry point of the keys workload (`livestack dataplane keys`). */
export async function run(): Promise<void> {
  throw new Error('the keys workload is not built yet');
}
