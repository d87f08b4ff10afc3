/** Entry point of the balancer workload (`livestack dataplane balancer`). */
export async function run(): Promise<void> {
  throw new Error('the balancer workload is not built yet');
}
