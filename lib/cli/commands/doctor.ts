import { Command } from 'commander';
import { DesiredState } from '../../runtime/desired-state';
import { Check, checkCompiledCli, checkDocker, checkFfmpeg, checkNginxRtmp, checkPorts, checkSrtListener } from '../../runtime/doctor';
import { RuntimeOptions, addRuntimeOptions, loadDesired, openDriver, out } from './runtime-options';

/** `livestack doctor`: what this machine lacks to run livestack, each with how to fix it. Exit 1 when a required check fails. */
export function register(program: Command): void {
  addRuntimeOptions(
    program
      .command('doctor')
      .description('Check ffmpeg, nginx with the RTMP module, the SRT listener, Docker and the ports the app needs; print how to fix what fails.'),
  ).action(async (options: RuntimeOptions) => {
    const checks: Check[] = await Promise.all([checkFfmpeg(), checkNginxRtmp(), checkSrtListener(), checkDocker()]);
    checks.push(checkCompiledCli());
    let desired: DesiredState | undefined;
    if (options.app || options.manifest) desired = await loadDesired(options);
    if (desired) {
      const driver = await openDriver(options);
      const owned = new Set((await driver.observe()).filter((w) => w.phase !== 'exited').map((w) => w.name));
      await driver.close();
      checks.push(...(await checkPorts(desired.specs, owned)));
    }
    for (const check of checks) {
      const mark = check.ok ? 'ok  ' : check.optional ? 'warn' : 'FAIL';
      out(`${mark}  ${check.name}: ${check.detail}`);
      if (!check.ok && check.fix) out(`      fix: ${check.fix}`);
    }
    if (!desired) out('note  ports: give --app <main.ts> to check the ports your app publishes');
    const failed = checks.filter((c) => !c.ok && !c.optional);
    out(failed.length === 0 ? 'Everything livestack needs is here.' : `${failed.length} problem${failed.length === 1 ? '' : 's'} to fix.`);
    process.exitCode = failed.length === 0 ? 0 : 1;
  });
}
