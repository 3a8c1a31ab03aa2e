import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { Twin24LoginError } from '../protocol';

/**
 * Turning what went wrong into what the user reads: a Failure holds only what the node may
 * tell (never headers, the token or the request body), and the NodeApiError is built from it.
 */

/** Why a request failed, as far as the node may tell: no headers, no token, no request body. */
export type Failure =
	| { kind: 'http'; statusCode: number; apiMessage?: string; location?: string }
	| { kind: 'network'; code: string }
	| { kind: 'timeout' }
	| { kind: 'login'; message: string; retryAfterMs?: number }
	| { kind: 'tokenRefused'; statusCode: number; apiMessage?: string }
	/** Twin24 asked for a wait (Retry-After) longer than the node may wait; nothing is sent before it ends. */
	| { kind: 'waitTooLong'; statusCode: number; waitMs: number; maxWaitMs: number; resumeAt: string }
	/** The run stopped at another item's failure before this request went out. */
	| { kind: 'notSent' }
	/** The execution was cancelled (Stop, or the workflow timeout) before this request went out. */
	| { kind: 'cancelled' };

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
const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT']);

/** Failures that prove the request never reached Twin24: no connection was made. */
const NEVER_REACHED_NETWORK_CODES = new Set([
	'ECONNREFUSED',
	'EAI_AGAIN',
	'ENOTFOUND',
	'EHOSTUNREACH',
	'ENETUNREACH',
]);
/** Answers after which Twin24 may still have carried the request out (a gateway or server broke down mid-way). */
const MAYBE_APPLIED_STATUSES = new Set([500, 502, 504]);

/**
 * Whether a failed attempt may have reached Twin24 and been carried out although its answer was
 * lost: a timeout, a connection dropped after the request went out, or a gateway error. A 404
 * answering the retry of such an attempt then means "done", not "unknown ID".
 */
export function mayHaveBeenCarriedOut(failure: Failure): boolean {
	switch (failure.kind) {
		case 'timeout':
			return true;
		case 'network':
			return !NEVER_REACHED_NETWORK_CODES.has(failure.code);
		case 'http':
			return MAYBE_APPLIED_STATUSES.has(failure.statusCode);
		default:
			return false;
	}
}

function errorChain(error: unknown): unknown[] {
	const chain: unknown[] = [];
	for (let link = error; link !== undefined && link !== null && chain.length < 6;) {
		chain.push(link);
		link = (link as { cause?: unknown }).cause;
	}
	return chain;
}

/** Maps what the HTTP client threw to a Failure, keeping nothing of the request. */
export function failureOfThrown(error: unknown): { failure: Failure; retryable: boolean } {
	const chain = errorChain(error);
	const loginError = chain.find(
		(link): link is Twin24LoginError => link instanceof Twin24LoginError,
	);
	if (loginError) {
		const { message, retryable, retryAfterMs } = loginError;
		return { failure: { kind: 'login', message, retryAfterMs }, retryable };
	}
	const code = chain
		.map((link) => (link as { code?: unknown }).code)
		.find((value): value is string => typeof value === 'string' && /^[A-Z_]+$/.test(value));
	if (code === undefined)
		return { failure: { kind: 'network', code: 'unknown error' }, retryable: false };
	if (TIMEOUT_CODES.has(code)) return { failure: { kind: 'timeout' }, retryable: true };
	return { failure: { kind: 'network', code }, retryable: RETRYABLE_NETWORK_CODES.has(code) };
}

function hostOf(url: string | undefined): string {
	try {
		return url === undefined ? 'an unknown place' : new URL(url).host;
	} catch {
		return 'an invalid address';
	}
}

/** A short account of a failure, for messages and logs. */
export function describeFailure(failure: Failure): string {
	switch (failure.kind) {
		case 'http':
			if (failure.location !== undefined) {
				return `HTTP ${failure.statusCode} redirect to ${hostOf(failure.location)}, not followed`;
			}
			return `HTTP ${failure.statusCode}${failure.apiMessage ? ` – ${failure.apiMessage}` : ''}`;
		case 'tokenRefused':
			return `HTTP ${failure.statusCode}${failure.apiMessage ? ` – ${failure.apiMessage}` : ''}`;
		case 'network':
			return `no answer from Twin24 (${failure.code})`;
		case 'timeout':
			return 'Twin24 did not answer in time';
		case 'login':
			return failure.message;
		case 'waitTooLong':
			return `HTTP ${failure.statusCode} – Twin24 asks to wait ${seconds(failure.waitMs)} s, until ${failure.resumeAt}, longer than Max Wait (${seconds(failure.maxWaitMs)} s)`;
		case 'notSent':
			return 'not sent, because the run stopped at an earlier failure';
		case 'cancelled':
			return 'not sent, because the execution was stopped';
	}
}

function seconds(milliseconds: number): number {
	return Math.ceil(milliseconds / 1000);
}

const STATUS_HINTS: Record<number, string> = {
	400: 'Twin24 rejected the request as invalid. Check the ID and the Keep Recording value.',
	403: 'The Twin24 account lacks permission for this. Ask your Twin24 administrator to allow data erasure for the account the credential uses.',
	404: 'Twin24 does not know this ID, or its data was already erased. Check the ID, or turn on the option Ignore Not Found to count this as done.',
	408: 'Twin24 timed out on the request even after retries. Try again later.',
	422: 'Twin24 rejected the request as invalid. Check the ID and the Keep Recording value.',
	429: 'Twin24 kept limiting the request rate even after retries. Lower the Concurrency option, or run the workflow later.',
};

/** What the user can do about a failure. */
function hintFor(failure: Failure, timeoutMs: number): string {
	switch (failure.kind) {
		case 'tokenRefused':
			return 'Twin24 refused the token. For an access token: paste a valid one into the Twin24 credential. For email and password: the token was refused even after a new login; check the account.';
		case 'login':
			return 'The Twin24 login failed; nothing was erased for this item.';
		case 'notSent':
			return 'Nothing was sent for this item. Run it again once the earlier failure is fixed.';
		case 'cancelled':
			return 'Nothing was sent for this item. Run it again (with the option Ignore Not Found on, so that the items already done count as done).';
		case 'waitTooLong':
			return `Nothing was sent for this item, and nothing is sent to Twin24 before ${failure.resumeAt}. Run it again after that time, or raise the option Max Wait.`;
		case 'timeout':
			return `No answer within ${timeoutMs} ms, even after retries. Try again later, or raise the Timeout option.`;
		case 'network':
			return 'The connection to Twin24 failed, even after retries. Check the CIS Base URL in the credential and that Twin24 is reachable.';
		case 'http':
			if (failure.statusCode >= 300 && failure.statusCode < 400) {
				return `Twin24 answered with a redirect to ${hostOf(failure.location)}. The node does not follow redirects, so that the token is never sent elsewhere. Check the CIS Base URL in the credential.`;
			}
			if (failure.statusCode >= 500)
				return 'Twin24 had a server problem, even after retries. Try again later.';
			return STATUS_HINTS[failure.statusCode] ?? 'Twin24 did not accept the request.';
	}
}

export interface FailureContext {
	/** e.g. 'depersonalize call "abc"' */
	what: string;
	itemIndex: number;
	retries: number;
}

/**
 * The error shown for a failed item. Built from the Failure alone, so it carries no request
 * headers (and so no token) in its message, description or cause.
 */
export function toNodeError(
	node: INode,
	failure: Failure,
	context: FailureContext,
	timeoutMs: number,
): NodeApiError {
	const statusCode = 'statusCode' in failure ? failure.statusCode : undefined;
	const retried =
		context.retries > 0
			? ` (after ${context.retries} ${context.retries === 1 ? 'retry' : 'retries'})`
			: '';
	const message = `Could not ${context.what}: ${describeFailure(failure)}${retried} (item ${context.itemIndex})`;
	const cause: JsonObject = {
		message: describeFailure(failure),
		httpCode: statusCode === undefined ? null : String(statusCode),
	};
	const description = hintFor(failure, timeoutMs);
	const error = new NodeApiError(node, cause, {
		message,
		description,
		httpCode: statusCode === undefined ? undefined : String(statusCode),
		itemIndex: context.itemIndex,
	});
	// NodeApiError swaps a message that mentions a network error code (ECONNRESET, ETIMEDOUT…)
	// for a generic one that names neither the item nor the ID.
	error.message = message;
	error.description = description;
	return error;
}
