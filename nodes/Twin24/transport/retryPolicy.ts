import type { Failure } from './failures';
import { waitTooLong } from './failures';
import type { Attempt } from './http';
import { isOverload } from './pacing/signals';

/** Every retry decision: what is retried, how long or how often, the wait, what may be done. */

const RETRYABLE_STATUSES = new Set([408, 429, 500, 502, 503, 504]);

/** Dropped or refused connections (a timeout, ECONNABORTED or ETIMEDOUT, is its own Failure). */
const RETRYABLE_NETWORK_CODES = new Set([
	'ECONNRESET',
	'ECONNREFUSED',
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

/** Answers after which Twin24 may have carried the request out (it broke down mid-way). */
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
	if (failure.kind === 'network') return !NEVER_REACHED_NETWORK_CODES.has(failure.code);
	if (failure.kind === 'http') return MAY_BE_DONE_STATUSES.has(failure.statusCode);
	return failure.kind === 'timeout';
}

function isRetryable(failure: Failure): boolean {
	if (failure.kind === 'http') return RETRYABLE_STATUSES.has(failure.statusCode);
	if (failure.kind === 'network') return RETRYABLE_NETWORK_CODES.has(failure.code);
	if (failure.kind === 'login') return failure.retryable;
	return failure.kind === 'timeout';
}

/** What became of one request, as far as Twin24 said. `attempts` counts the requests sent. */
export type SendResult = { attempts: number } & (
	| { outcome: 'done'; confirmedAt: string }
	/**
	 * Twin24 answered 404. `answerLost`: an earlier attempt may have been carried out and its
	 * answer lost, so the 404 is most likely this execution's own erasure.
	 */
	| ({ outcome: 'notFound'; confirmedAt: string; answerLost: boolean } & Retried)
	| ({ outcome: 'failed'; mayBeDone: boolean } & Retried)
	/** The run ended before Twin24 answered: the request was not sent, or not to the end. */
	| { outcome: 'interrupted'; mayBeDone: boolean }
);

/** Why a request that Twin24 did not carry out ended as it did, after how many retries. */
interface Retried {
	failure: Failure;
	retries: number;
}

export interface RetryLimits {
	maxRetries: number;
	/** The longest wait the node accepts from a Retry-After before it fails the items instead. */
	maxWaitMs: number;
}

/**
 * The tries of one request: its attempts and retries, whether Twin24 may have carried it out,
 * and the result it ends with. A shared limit may refuse one request several times while its
 * window drains, so refusals for overload (429, 503) are retried for as long as Max Wait from
 * the first one, whatever their number; other trouble (408, 500, 502, 504, dropped connections,
 * timeouts) up to Max Retries times.
 */
export class RequestTries {
	retries = 0;
	private attempts = 0;
	private troubleRetries = 0;
	private overloadedSince: number | undefined;
	private loggedInAgain = false;

	constructor(
		private readonly limits: RetryLimits,
		/** An attempt (this one's or an earlier run's) failed in a way Twin24 may have carried out. */
		private mayBeDone: boolean,
	) {}

	/** Counts an attempt that reached the request itself (a failed login sends no erasure). */
	count(attempt: Attempt): void {
		if (attempt.kind !== 'error' || attempt.failure.kind !== 'login') this.attempts++;
	}

	/** After a 401 in login mode, one new login for this request. */
	mayLogInAgain(): boolean {
		if (this.loggedInAgain) return false;
		this.loggedInAgain = true;
		return true;
	}

	/** After `failure`: the wait before the request's retry (counted here), or its result. */
	afterFailure(failure: Failure, retryAfterMs = 0): number | SendResult {
		if (mayBeDoneAfter(failure)) this.mayBeDone = true;
		if (!isRetryable(failure)) return this.failed(failure);
		if (failure.kind === 'http' && retryAfterMs > this.limits.maxWaitMs) {
			const wait = waitTooLong(retryAfterMs, this.limits.maxWaitMs);
			return this.failed({ kind: 'waitTooLong', statusCode: failure.statusCode, ...wait });
		}
		const waitMs = this.waitBeforeRetry(failure, retryAfterMs);
		if (waitMs === undefined) return this.failed(failure);
		this.retries++;
		return waitMs;
	}

	done(): SendResult {
		return { outcome: 'done', confirmedAt: new Date().toISOString(), attempts: this.attempts };
	}

	notFound(failure: Failure): SendResult {
		const { attempts, retries, mayBeDone: answerLost } = this;
		const confirmedAt = new Date().toISOString();
		return { outcome: 'notFound', confirmedAt, attempts, answerLost, failure, retries };
	}

	failed(failure: Failure): SendResult {
		const { attempts, retries, mayBeDone } = this;
		return { outcome: 'failed', failure, attempts, retries, mayBeDone };
	}

	interrupted(mayBeDone = this.mayBeDone): SendResult {
		return { outcome: 'interrupted', attempts: this.attempts, mayBeDone };
	}

	/** How long to wait before retrying after `failure`; undefined once its budget is spent. */
	private waitBeforeRetry(failure: Failure, retryAfterMs: number): number | undefined {
		if (failure.kind === 'http' && isOverload(failure.statusCode)) {
			// The shared pace slows every request down after an overload; the refused one also
			// waits out its own Retry-After, which the pace does not impose on the others.
			this.overloadedSince ??= Date.now();
			return Date.now() - this.overloadedSince <= this.limits.maxWaitMs ? retryAfterMs : undefined;
		}
		if (this.troubleRetries >= this.limits.maxRetries) return undefined;
		return Math.max(backoffMs(this.troubleRetries++), retryAfterMs);
	}
}
