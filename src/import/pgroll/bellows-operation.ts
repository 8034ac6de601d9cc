import type { z } from 'zod';
import type { OPERATIONS, OperationKind } from '../../operations/index.ts';

/** One bellows playbook operation as it is written in a file: its kind as the only key, defaults left out. */
export type BellowsOperation = { [K in OperationKind]: { [P in K]: z.input<(typeof OPERATIONS)[K]['spec']> } }[OperationKind];

/** The spec of one kind, as written. */
export type WrittenSpec<K extends OperationKind> = z.input<(typeof OPERATIONS)[K]['spec']>;
