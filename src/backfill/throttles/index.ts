import type { Throttle } from './throttle.ts';
import { customQueryThrottle } from './custom-query.ts';
import { lockWaitersThrottle } from './lock-waiters.ts';

export const THROTTLES: readonly Throttle[] = [customQueryThrottle, lockWaitersThrottle];

export type { Throttle, ThrottleContext } from './throttle.ts';
