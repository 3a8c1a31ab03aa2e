import { Twin24LoginError } from './account';

/** A wait Twin24 asked for that is longer than Max Wait: nothing is sent before `resumeAt`. */
export interface WaitTooLong {
	waitMs: number;
	maxWaitMs: number;
	resumeAt: string;
}

/**
 * Why a request failed, as far as the node may tell: no headers, no token, no request body. What
 * the user reads of it is built on the item side (run/failureMessages.ts).
 */
export type Failure =
	| { kind: 'http'; statusCode: number; apiMessage?: string; location?: string }
	| { kind: 'network'; code: string }
	| { kind: 'timeout' }
	/**
	 * `retryable`: server trouble or no answer, as opposed to a refused email or password. When
	 * the run gives up logging in: how many `logins` failed, or the `wait` before the next one.
	 */
	| {
			kind: 'login';
			message: string;
			retryable: boolean;
			retryAfterMs?: number;
			logins?: number;
			wait?: WaitTooLong;
	  }
	| { kind: 'tokenRefused'; statusCode: number; apiMessage?: string }
	/** Twin24 refused the request and asked for a wait (Retry-After) longer than Max Wait. */
	| ({ kind: 'waitTooLong'; statusCode: number } & WaitTooLong);

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);

/**
 * Maps what the HTTP client threw to a Failure, keeping nothing of the request. The reason may
 * sit deeper in the chain of causes; the walk stops after six links, should the chain loop.
 */
export function failureOfThrown(error: unknown): Failure {
	let code: string | undefined;
	for (let link = error, depth = 0; link !== undefined && link !== null && depth < 6; depth++) {
		if (link instanceof Twin24LoginError) {
			const { message, retryable, retryAfterMs } = link;
			return { kind: 'login', message, retryable, retryAfterMs };
		}
		const linkCode = (link as { code?: unknown }).code;
		if (typeof linkCode === 'string' && /^[A-Z_]+$/.test(linkCode)) code ??= linkCode;
		link = (link as { cause?: unknown }).cause;
	}
	if (code === undefined) return { kind: 'network', code: 'unknown error' };
	return TIMEOUT_CODES.has(code) ? { kind: 'timeout' } : { kind: 'network', code };
}

/** A wait of `waitMs` from now, longer than Max Wait. */
export function waitTooLong(waitMs: number, maxWaitMs: number): WaitTooLong {
	return { waitMs, maxWaitMs, resumeAt: new Date(Date.now() + waitMs).toISOString() };
}
