/** Same run, same id: a second `start` of the playbook attaches instead of launching another workflow. */
export function workflowIdFor(dbIdentity: string, runId: string): string {
  return `bellows-${dbIdentity}-run-${runId}`;
}
