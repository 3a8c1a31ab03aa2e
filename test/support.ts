/**
 * What the engine tests share: a simulator with the demo identity, credentials for both ways
 * of signing in, the Twin24 node's parameters, and the scan that proves no secret got out.
 */
import { join } from 'node:path';

import type { ICredentialDataDecryptedObject, IDataObject, INodeParameters } from 'n8n-workflow';

import type * as PaceRegistry from '../nodes/Twin24/transport/pacing/registry';
import type { RunTwin24Options, Twin24RunResult } from './harness/engine';
import { capturedN8nLog, findPackageRoot, runTwin24 } from './harness/engine';
import type { SimulatorOptions } from './simulator/simulator';
import {
	DEMO_ACCESS_TOKEN,
	DEMO_EMAIL,
	DEMO_PASSWORD,
	DEMO_READONLY_ACCESS_TOKEN,
	Twin24Simulator,
} from './simulator/simulator';

export { DEMO_ACCESS_TOKEN, DEMO_EMAIL, DEMO_PASSWORD, DEMO_READONLY_ACCESS_TOKEN };

function addDemoIdentity(simulator: Twin24Simulator): void {
	simulator.addUser(DEMO_EMAIL, DEMO_PASSWORD);
	simulator.addAccessToken(DEMO_ACCESS_TOKEN);
	simulator.addAccessToken(DEMO_READONLY_ACCESS_TOKEN, { canErase: false });
}

/** A simulator that knows the demo user and the demo access tokens, again after every reset. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Twin24Simulator> {
	const simulator = await Twin24Simulator.start({ ...options, onReset: addDemoIdentity });
	addDemoIdentity(simulator);
	return simulator;
}

/** The pace registry as n8n loaded it from dist/ (the same instance the node uses). */
export function loadedPaceRegistry(): typeof PaceRegistry {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return require(
		join(findPackageRoot(), 'dist/nodes/Twin24/transport/pacing/registry.js'),
	) as typeof PaceRegistry;
}

/**
 * One simulator for a test file: started before its tests, reset before each (then `seed` runs),
 * stopped after them. `use` receives it once it is listening. Each test also starts with no pace
 * remembered: the tests share one credential and one simulator, so one test's pace (a pause for a
 * long Retry-After, a low limit) would be taken up by the next.
 */
export function useSimulator(
	use: (simulator: Twin24Simulator) => void,
	seed: (simulator: Twin24Simulator) => void = () => undefined,
): void {
	let started: Twin24Simulator | undefined;
	beforeAll(async () => {
		started = await startSimulator();
		use(started);
	});
	afterAll(async () => await started?.stop());
	beforeEach(() => {
		loadedPaceRegistry().forgetPaces();
		started?.reset();
		if (started) seed(started);
	});
}

export function tokenCredentials(
	simulator: Twin24Simulator,
	overrides: ICredentialDataDecryptedObject = {},
): ICredentialDataDecryptedObject {
	return {
		authMode: 'accessToken',
		accessToken: DEMO_ACCESS_TOKEN,
		cisBaseUrl: simulator.cisBaseUrl,
		...overrides,
	};
}

export function loginCredentials(
	simulator: Twin24Simulator,
	overrides: ICredentialDataDecryptedObject = {},
): ICredentialDataDecryptedObject {
	return {
		authMode: 'emailPassword',
		email: DEMO_EMAIL,
		password: DEMO_PASSWORD,
		cisBaseUrl: simulator.cisBaseUrl,
		iamBaseUrl: simulator.iamBaseUrl,
		...overrides,
	};
}

/** Node parameters for one operation; IDs come from each item's `id` field unless given. */
export function operationParameters(
	resource: 'call' | 'autoCallCandidate',
	operation: 'depersonalize' | 'deleteRecord',
	extra: INodeParameters = {},
): INodeParameters {
	const idParameter = resource === 'call' ? 'callId' : 'autoCallCandidateId';
	return { resource, operation, [idParameter]: '={{ $json.id }}', ...extra };
}

export function idItems(ids: readonly unknown[]): IDataObject[] {
	return ids.map((id) => ({ id }) as IDataObject);
}

const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

/** The proof-of-erasure fields of a done item: when Twin24 confirmed it, and in how many requests. */
export function confirmed(attempts = 1): IDataObject {
	return { confirmedAt: expect.stringMatching(ISO_8601) as unknown as string, attempts };
}

/** The proof-of-erasure fields of an item nothing was confirmed for. */
export const NOT_CONFIRMED: IDataObject = { confirmedAt: null, attempts: 0 };

export async function run(options: RunTwin24Options): Promise<Twin24RunResult> {
	return await runTwin24(options);
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
