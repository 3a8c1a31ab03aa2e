import { Twin24LoginError } from './account';

/**
 * Why a request failed, as far as the node may tell: no headers, no token, no request body. What
 * the user reads of it is built on the item side (run/failureMessages.ts).
 */
export type Failure =
	| { kind: 'http'; statusCode: number; apiMessage?: string; location?: string }
	| { kind: 'network'; code: string }
	| { kind: 'timeout' }
	/** `retryable`: server trouble or no answer, as opposed to a refused email or password. */
	| { kind: 'login'; message: string; retryable: boolean; retryAfterMs?: number }
	| { kind: 'tokenRefused'; statusCode: number; apiMessage?: string }
	/** Twin24 asked for a wait (Retry-After) longer than the node may wait; nothing is sent before it ends. */
	| {
			kind: 'waitTooLong';
			statusCode: number;
			waitMs: number;
			maxWaitMs: number;
			resumeAt: string;
	  };

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

function seconds(milliseconds: number): number {
	return Math.ceil(milliseconds / 1000);
}

/** Twin24 asked for a wait beyond Max Wait: nothing may be sent before `resumeAt`. */
export function waitTooLong(statusCode: number, waitMs: number, maxWaitMs: number): Failure {
	const resumeAt = new Date(Date.now() + waitMs).toISOString();
	return { kind: 'waitTooLong', statusCode, waitMs, maxWaitMs, resumeAt };
}

/** How a wait beyond Max Wait reads: for a refused request, or `before` something (the next login). */
export function waitTooLongText(
	waitMs: number,
	maxWaitMs: number,
	resumeAt: string,
	before?: string,
): string {
	const wait = `Twin24 asks to wait ${seconds(waitMs)} s`;
	const until = before === undefined ? `, until ${resumeAt},` : ` ${before} (until ${resumeAt}),`;
	return `${wait}${until} longer than Max Wait (${seconds(maxWaitMs)} s)`;
}
