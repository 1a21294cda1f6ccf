// Checks for the hardening stages: PAM and password policy, su, ttys, syslog, cron, audit.
import type { Check } from '../image.js';

export const hardeningChecks: Check[] = [];
