/** After each integration test file's own hooks: stop whatever it started and did not stop (harness/owned.ts). */
import { stopAll } from './owned';

afterAll(stopAll);
