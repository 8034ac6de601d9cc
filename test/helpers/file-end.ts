import { afterAll } from 'vitest';
import { runFileEndCleanups } from './cleanup.ts';

// A setup file: runs in every test file before its tests, so this afterAll belongs to the file itself.
afterAll(runFileEndCleanups);
