/** Hostile credentials (issue 4): the logins and erasure requests a run makes, and its outcome. */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { Twin24Simulator } from '../simulator/simulator';
import { DEMO_ACCESS_TOKEN, DEMO_EMAIL, DEMO_READONLY_ACCESS_TOKEN } from '../support';
import type { Outcome } from './shared';
import { failure, login, notSent, success, token } from './shared';

export interface CredentialCase {
	name: string;
	credentials: (sim: Twin24Simulator) => ICredentialDataDecryptedObject;
	/** A simulator that knows no access token at all (so the demo token is a wrong one). */
	noKnownTokens?: boolean;
	/** Runs before the measured run; requests it causes are not counted. */
	arrange?: (sim: Twin24Simulator) => void | Promise<void>;
	/** Runs the measured run once before, with the same credential store (to log in). */
	warmUp?: boolean;
	items: number;
	options?: { timeout?: number; maxRetries?: number; concurrency?: number };
	continueOnFail?: boolean;
	/** Login requests and erasure requests that must reach the simulator. */
	logins: number;
	erasures: number | { atMost: number };
	expect: Outcome;
	/** The exact Authorization header every erasure request must carry. */
	sentBearer?: string;
	maxDurationMs?: number;
}

const TOKEN_REFUSED = /refused the token/;

export const LOGIN_TIMEOUT_CASE_MS = 40_000;

export const CREDENTIAL_CASES: readonly CredentialCase[] = [
	{
		name: 'wrong access token: one request, no retry, the run stops',
		credentials: token(),
		noKnownTokens: true,
		items: 3,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(401, [/Unauthorized/, TOKEN_REFUSED]),
	},
	{
		name: 'wrong access token, 10 items at concurrency 5: no more than one wave',
		credentials: token(),
		noKnownTokens: true,
		items: 10,
		options: { concurrency: 5, maxRetries: 3 },
		logins: 0,
		erasures: { atMost: 5 },
		expect: failure(401, [TOKEN_REFUSED]),
	},
	{
		name: 'wrong access token with Continue On Fail: every item fails, one request',
		credentials: token(),
		noKnownTokens: true,
		items: 3,
		options: { concurrency: 1, maxRetries: 3 },
		continueOnFail: true,
		logins: 0,
		erasures: 1,
		expect: failure(401, [/401/]),
	},
	{
		name: 'expired access token',
		credentials: token(),
		arrange: (sim) => sim.expireAllTokens(),
		items: 2,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(401, [/Token expired/, TOKEN_REFUSED]),
	},
	{
		name: 'token without erase permission (403): not retried',
		credentials: token({ accessToken: DEMO_READONLY_ACCESS_TOKEN }),
		items: 2,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(403, [/lacks permission/]),
	},
	{
		name: 'empty access token',
		credentials: token({ accessToken: '' }),
		items: 1,
		logins: 0,
		erasures: 0,
		expect: notSent(/no access token/),
	},
	{
		name: 'blank access token',
		credentials: token({ accessToken: '  \t ' }),
		items: 1,
		logins: 0,
		erasures: 0,
		expect: notSent(/no access token/),
	},
	{
		// The HTTP client folds the line break away: no header is injected, the token is refused.
		name: 'access token with CR LF (header injection)',
		credentials: token({ accessToken: `${DEMO_ACCESS_TOKEN}\r\nX-Injected: 1` }),
		items: 2,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 0,
		erasures: 1,
		expect: failure(401, [TOKEN_REFUSED]),
	},
	{
		name: 'access token with surrounding spaces is trimmed',
		credentials: token({ accessToken: `  ${DEMO_ACCESS_TOKEN}\n` }),
		items: 2,
		logins: 0,
		erasures: 2,
		expect: success,
		sentBearer: `Bearer ${DEMO_ACCESS_TOKEN}`,
	},
	{
		name: 'wrong password: one login attempt, no erasure',
		credentials: login(),
		arrange: (sim) => void sim.addUser(DEMO_EMAIL, 'a-different-password'),
		items: 5,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /401/, /email and password/]),
	},
	{
		name: 'unknown email: one login attempt, no erasure',
		credentials: login({ email: 'nobody@twin24-simulator.test' }),
		items: 3,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /Invalid email or password/]),
	},
	{
		name: 'wrong password with Continue On Fail: every item fails, one login',
		credentials: login(),
		arrange: (sim) => void sim.addUser(DEMO_EMAIL, 'a-different-password'),
		items: 3,
		options: { maxRetries: 3 },
		continueOnFail: true,
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/]),
	},
	{
		name: 'login failed with 400: one attempt',
		credentials: login(),
		arrange: (sim) => sim.failNext(5, 400, { route: 'login' }),
		items: 3,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /400/]),
	},
	{
		name: 'login answers 200 without a token',
		credentials: login(),
		arrange: (sim) => sim.failNext(5, 200, { route: 'login' }),
		items: 3,
		options: { maxRetries: 3 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/200 without a token/]),
	},
	{
		name: 'login rate-limited every time: Max Retries bounds the logins',
		credentials: login(),
		arrange: (sim) => sim.failNext(20, 429, { route: 'login' }),
		items: 3,
		options: { concurrency: 1, maxRetries: 1 },
		logins: 2,
		erasures: 0,
		expect: failure(undefined, [/login failed/, /429/]),
	},
	{
		name: 'token expired between runs: one new login, then success',
		credentials: login(),
		warmUp: true,
		arrange: (sim) => sim.expireAllTokens(),
		items: 2,
		options: { concurrency: 1 },
		logins: 1,
		erasures: 3,
		expect: success,
	},
	{
		name: 'every fresh token is refused: one new login, then the run stops',
		credentials: login(),
		arrange: (sim) => sim.configure({ tokenTtlSeconds: 0 }),
		items: 3,
		options: { concurrency: 1, maxRetries: 3 },
		logins: 2,
		erasures: 2,
		expect: failure(401, [TOKEN_REFUSED]),
	},
	{
		name: 'every fresh token is refused, 5 items at once: still one new login',
		credentials: login(),
		arrange: (sim) => sim.configure({ tokenTtlSeconds: 0 }),
		items: 5,
		options: { concurrency: 5, maxRetries: 3 },
		logins: 2,
		erasures: { atMost: 10 },
		expect: failure(401, [TOKEN_REFUSED]),
	},

	{
		name: 'login times out (15 s)',
		credentials: login(),
		arrange: (sim) => sim.configure({ latencyMs: 30_000 }),
		items: 2,
		options: { maxRetries: 0, timeout: 1000 },
		logins: 1,
		erasures: 0,
		expect: failure(undefined, [/login/, /no answer|timed out|in time/]),
		maxDurationMs: 20_000,
	},
];
