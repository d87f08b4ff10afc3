/** Progress lines for apply and up: one line when an action starts, one when it ends (with its time). */
import { ActionEvent } from '../../runtime/controller';
import { describeDisruption } from '../../runtime/plan-render';

const VERB: Record<string, string> = { create: 'Creating', replace: 'Replacing', update: 'Updating', delete: 'Deleting', keep: 'Keeping' };
const DONE: Record<string, string> = { create: 'Created', replace: 'Replaced', update: 'Updated', delete: 'Deleted', keep: 'Kept' };

export function progressPrinter(write: (line: string) => void): (event: ActionEvent) => void {
  return (event) => {
    const { action } = event;
    const seconds = event.elapsedMs !== undefined ? ` in ${(event.elapsedMs / 1000).toFixed(1)} s` : '';
    switch (event.type) {
      case 'started': {
        const disruption = describeDisruption(action);
        write(`${VERB[action.kind]} ${action.role} ${action.name}: ${action.reason}${disruption ? ` [! ${disruption}]` : ''}`);
        break;
      }
      case 'succeeded':
        write(`${DONE[action.kind]} ${action.role} ${action.name}${seconds}`);
        break;
      case 'failed':
        write(`Failed to ${action.kind} ${action.role} ${action.name}${seconds}: ${event.error}${event.terminal ? ' (not retried: fix the cause)' : ` (retrying in ${event.retryInMs} ms)`}`);
        break;
      case 'note':
        write(`  ${event.note}`);
        break;
      case 'deferred':
        break;
    }
  };
}
