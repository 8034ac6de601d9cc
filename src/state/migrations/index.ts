import initial from './0001_initial.ts';
import eventsNoDelete from './0002_events_no_delete.ts';
import dualWriteFailures from './0003_dual_write_failures.ts';
import rangeLeases from './0004_range_leases.ts';
import runDrivers from './0005_run_drivers.ts';
import rateWindow from './0006_rate_window.ts';
import runFigures from './0007_run_figures.ts';
import snapshots from './0008_snapshots.ts';

/**
 * The control schema's own versions, in order. Append only: a shipped entry is
 * never edited, because databases in the field already ran it.
 */
export const STATE_MIGRATIONS: ReadonlyArray<(schema: string) => string> = [initial, eventsNoDelete, dualWriteFailures, rangeLeases, runDrivers, rateWindow, runFigures, snapshots];
