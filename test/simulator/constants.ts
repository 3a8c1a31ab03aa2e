/** The API's base paths, the control API's, and the demo identity `seedDemoData` sets up. */

export const CIS_BASE_PATH = '/cis/api/v1';
export const IAM_BASE_PATH = '/iam/api/v1';
export const CONTROL_BASE_PATH = '/__simulator';

/** Demo identity. The password and tokens contain `SECRET` so secret scans can look for them. */
export const DEMO_EMAIL = 'demo@twin24-simulator.test';
export const DEMO_PASSWORD = 'twin24-sim-SECRET-password-91c4e7';
export const DEMO_ACCESS_TOKEN = 'twin24-sim-SECRET-access-token-3f8a5d02b7e64c19';
/** A static token without erase permission: CIS erasures answer 403 with it. */
export const DEMO_READONLY_ACCESS_TOKEN = 'twin24-sim-SECRET-readonly-token-7d21e9a4c0b35f68';
export const DEMO_CALL_IDS: readonly string[] = [
	'3f2b8c1e-6d4a-4e8b-9c71-0a5d2e7f4b19',
	'8a61d0f4-2c3b-47e5-b9d8-5e1f6a0c3d72',
	'c47e9a25-81f6-4d3c-a0b2-9f8e7d6c5b41',
];
export const DEMO_CANDIDATE_IDS: readonly string[] = [
	'candidate-1001',
	'candidate-1002',
	'candidate-1003',
];
