/**
 * The demo account: its identity in a simulator, credentials for both ways of signing in, and the
 * scan that proves its secrets (the tokens and the password) never got out of a run.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { Twin24RunResult } from './harness/engine';
import { capturedN8nLog } from './harness/engine';
import type { Twin24Simulator } from './simulator/simulator';
import {
	DEMO_ACCESS_TOKEN,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
} from './simulator/simulator';

export { DEMO_ACCESS_TOKEN, DEMO_EMAIL, DEMO_PASSWORD, DEMO_READONLY_ACCESS_TOKEN };

/** Makes the simulator know the demo user and the demo access tokens (one may not erase). */
export function addDemoIdentity(simulator: Twin24Simulator): void {
	simulator.addUser(DEMO_EMAIL, DEMO_PASSWORD);
	simulator.addAccessToken(DEMO_ACCESS_TOKEN);
	simulator.addAccessToken(DEMO_READONLY_ACCESS_TOKEN, { canErase: false });
}

type Overrides = ICredentialDataDecryptedObject;

/** The demo account's credential data at the simulator's base URLs, signing in one way or the other. */
function demoCredentials(
	simulator: Twin24Simulator,
	signIn: ICredentialDataDecryptedObject,
	overrides: Overrides,
): ICredentialDataDecryptedObject {
	return { ...signIn, cisBaseUrl: simulator.cisBaseUrl, ...overrides };
}

/** Access-token mode, with the demo token. */
export function tokenCredentials(simulator: Twin24Simulator, overrides: Overrides = {}) {
	return demoCredentials(
		simulator,
		{ authMode: 'accessToken', accessToken: DEMO_ACCESS_TOKEN },
		overrides,
	);
}

/** Email + password mode, as the demo user, logging in at the simulator's IAM. */
export function loginCredentials(simulator: Twin24Simulator, overrides: Overrides = {}) {
	const signIn = { authMode: 'emailPassword', email: DEMO_EMAIL, password: DEMO_PASSWORD };
	return demoCredentials(simulator, { ...signIn, iamBaseUrl: simulator.iamBaseUrl }, overrides);
}

// ---------------------------------------------------------------- secret scan

const SECRETS = [DEMO_ACCESS_TOKEN, DEMO_READONLY_ACCESS_TOKEN, DEMO_PASSWORD];

/** Every string reachable from a value: own properties (enumerable or not), causes, stacks. */
function collectStrings(value: unknown, into: string[], seen: Set<object>, depth: number): void {
	if (typeof value === 'string') {
		into.push(value);
		return;
	}
	if (typeof value !== 'object' || value === null || depth > 12 || seen.has(value)) return;
	seen.add(value);
	if (Buffer.isBuffer(value)) {
		into.push(value.toString('utf8'));
		return;
	}
	const iterable =
		value instanceof Map ? [...value.entries()] : value instanceof Set ? [...value] : [];
	for (const entry of iterable) collectStrings(entry, into, seen, depth + 1);
	for (const key of Object.getOwnPropertyNames(value)) {
		into.push(key);
		const descriptor = Object.getOwnPropertyDescriptor(value, key);
		if (descriptor && 'value' in descriptor)
			collectStrings(descriptor.value, into, seen, depth + 1);
	}
}

/**
 * Where a secret (the demo token, the read-only token, the password, and any token the
 * simulator issued at login) shows up in what a run left behind: the whole run data, the
 * thrown error with its cause and stack, and n8n's captured log. Empty when clean.
 */
export function secretsIn(result: Twin24RunResult, simulator?: Twin24Simulator): string[] {
	const issuedTokens = simulator ? issuedLoginTokens(simulator) : [];
	const secrets = [...SECRETS, ...issuedTokens];
	const strings: string[] = [];
	const seen = new Set<object>();
	collectStrings(result.run, strings, seen, 0);
	collectStrings(result.error, strings, seen, 0);
	for (const thrown of result.result.thrown('Twin24')) collectStrings(thrown, strings, seen, 0);
	collectStrings(capturedN8nLog(), strings, seen, 0);
	const text = strings.join('\n');
	return secrets.filter((secret) => text.includes(secret));
}

/** The tokens the simulator handed out at login, read back from the request log. */
export function issuedLoginTokens(simulator: Twin24Simulator): string[] {
	const tokens = new Set<string>();
	for (const request of simulator.requests) {
		const authorization = request.headers?.authorization;
		if (typeof authorization === 'string' && authorization.startsWith('Bearer ')) {
			const token = authorization.slice('Bearer '.length);
			if (!SECRETS.includes(token) && token.length > 20) tokens.add(token);
		}
	}
	return [...tokens];
}
