// The bundle's entry: every workflow type the worker registers.
export { migrationRun } from './migration.ts';
