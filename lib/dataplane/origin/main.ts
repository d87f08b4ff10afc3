/** Entry point of the origin workload (`livestack dataplane origin`). */
export async function run(): Promise<void> {
  throw new Error('the origin workload is not built yet');
}
