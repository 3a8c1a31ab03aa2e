import type { Failure } from './failures';
import { waitTooLong } from './failures';
import { isOverload } from './pacing/signals';

/**
 * Every retry decision in one place: which failures are retried, for how long or how often, how
 * long to wait first, and which failures may have been carried out by Twin24 all the same.
 */

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

const RETRYABLE_NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
	'ECONNABORTED',
	'ETIMEDOUT',
	'EPIPE',
	'EAI_AGAIN',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'ERR_STREAM_PREMATURE_CLOSE',
	'UND_ERR_SOCKET',
]);

/** Failures that prove the request never reached Twin24: no connection was made. */
const NEVER_REACHED_NETWORK_CODES = new Set([
	'ECONNREFUSED',
	'EAI_AGAIN',
	'ENOTFOUND',
	'EHOSTUNREACH',
	'ENETUNREACH',
]);

/** Answers after which Twin24 may still have carried the request out (a gateway or server broke down mid-way). */
const MAY_BE_DONE_STATUSES = new Set([500, 502, 504]);

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 10000;

/** Exponential backoff with jitter: half of the step is fixed, half random. */
export function backoffMs(retry: number): number {
	const step = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
	return step / 2 + Math.random() * (step / 2);
}

/**
 * Whether a failed attempt may have reached Twin24 and been carried out although its answer was
 * lost: a timeout, a connection dropped after the request went out, or a gateway error. A 404
 * answering the retry of such an attempt then means "done", not "unknown ID".
 */
export function mayBeDoneAfter(failure: Failure): boolean {
	switch (failure.kind) {
		case 'timeout':
			return true;
		case 'network':
			return !NEVER_REACHED_NETWORK_CODES.has(failure.code);
		case 'http':
			return MAY_BE_DONE_STATUSES.has(failure.statusCode);
		default:
			return false;
	}
}

function isRetryable(failure: Failure): boolean {
	switch (failure.kind) {
		case 'http':
			return RETRYABLE_STATUSES.has(failure.statusCode);
		case 'network':
			return RETRYABLE_NETWORK_CODES.has(failure.code);
		case 'timeout':
			return true;
		case 'login':
			return failure.retryable;
		default:
			return false;
	}
}

/** Refused for overload (429, 503): under Max Wait, not Max Retries. See pacing/signals. */
function isOverloaded(failure: Failure): boolean {
	return failure.kind === 'http' && isOverload(failure.statusCode);
}

export interface RetryLimits {
	maxRetries: number;
	/** The longest wait the node accepts from a Retry-After before it fails the items instead. */
	maxWaitMs: number;
}

export type RetryDecision = { retry: true; waitMs: number } | { retry: false; failure: Failure };

/**
 * The retries of one request. A shared limit may refuse one request several times while its
 * window drains, so refusals for overload (429, 503) are retried for as long as Max Wait from
 * the first one, whatever their number; other trouble (408, 500, 502, 504, dropped connections,
 * timeouts) up to Max Retries times.
 */
export class RetryPolicy {
	retries = 0;
	/** An attempt (of this request, or of an earlier run's) failed in a way Twin24 may have carried out. */
	mayBeDone: boolean;
	private troubleRetries = 0;
	private overloadedSince: number | undefined;

	constructor(
		private readonly limits: RetryLimits,
		mayBeDone: boolean,
	) {
		this.mayBeDone = mayBeDone;
	}

	/** Whether to send the request again after `failure`, and after how long; counts the retry. */
	afterFailure(failure: Failure, retryAfterMs?: number): RetryDecision {
		if (mayBeDoneAfter(failure)) this.mayBeDone = true;
		if (!isRetryable(failure)) return { retry: false, failure };
		if (
			failure.kind === 'http' &&
			retryAfterMs !== undefined &&
			retryAfterMs > this.limits.maxWaitMs
		) {
			const wait = waitTooLong(retryAfterMs, this.limits.maxWaitMs);
			return {
				retry: false,
				failure: { kind: 'waitTooLong', statusCode: failure.statusCode, ...wait },
			};
		}
		// After an overload the shared pace slows every request down; the refused one also waits
		// out its own Retry-After, which the pace does not impose on the others.
		const waitMs = isOverloaded(failure)
			? (retryAfterMs ?? 0)
			: Math.max(backoffMs(this.troubleRetries), retryAfterMs ?? 0);
		if (!this.mayRetry(failure)) return { retry: false, failure };
		this.retries++;
		return { retry: true, waitMs };
	}

	private mayRetry(failure: Failure): boolean {
		if (isOverloaded(failure)) {
			this.overloadedSince ??= Date.now();
			return Date.now() - this.overloadedSince <= this.limits.maxWaitMs;
		}
		if (this.troubleRetries >= this.limits.maxRetries) return false;
		this.troubleRetries++;
		return true;
	}
}
