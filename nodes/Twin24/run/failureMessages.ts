import type { INode, JsonObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import type { Failure, WaitTooLong } from '../transport/failures';
import { isOverload } from '../transport/pacing/signals';

/**
 * What the user reads of a failed request: its short account, the hint that names what to do
 * (the node's options, the credential), and the NodeApiError built from the Failure alone.
 */

function hostOf(url: string | undefined): string {
	try {
		return url === undefined ? 'an unknown place' : new URL(url).host;
	} catch {
		return 'an invalid address';
	}
}

function statusText(statusCode: number, apiMessage: string | undefined): string {
	return `HTTP ${statusCode}${apiMessage ? ` – ${apiMessage}` : ''}`;
}

function seconds(milliseconds: number): number {
	return Math.ceil(milliseconds / 1000);
}

/** How a wait beyond Max Wait reads: for a refused request, or `before` something (the next login). */
function waitTooLongText({ waitMs, maxWaitMs, resumeAt }: WaitTooLong, before?: string): string {
	const wait = `Twin24 asks to wait ${seconds(waitMs)} s`;
	const until = before === undefined ? `, until ${resumeAt},` : ` ${before} (until ${resumeAt}),`;
	return `${wait}${until} longer than Max Wait (${seconds(maxWaitMs)} s)`;
}

/** The login's own message, and why the run gave up logging in. */
function loginText({ message, logins, wait }: Extract<Failure, { kind: 'login' }>): string {
	if (wait !== undefined) return `${message} ${waitTooLongText(wait, 'before the next login')}.`;
	if (logins === undefined) return message;
	return `${message} (${logins === 1 ? '1 login attempt' : `${logins} login attempts`})`;
}

/** A short account of a failure, for messages and logs. */
export function describeFailure(failure: Failure): string {
	switch (failure.kind) {
		case 'http':
			if (failure.location !== undefined) {
				return `HTTP ${failure.statusCode} redirect to ${hostOf(failure.location)}, not followed`;
			}
			return statusText(failure.statusCode, failure.apiMessage);
		case 'tokenRefused':
			return statusText(failure.statusCode, failure.apiMessage);
		case 'network':
			return `no answer from Twin24 (${failure.code})`;
		case 'timeout':
			return 'Twin24 did not answer in time';
		case 'login':
			return loginText(failure);
		case 'waitTooLong':
			return `HTTP ${failure.statusCode} – ${waitTooLongText(failure)}`;
	}
}

/** After 429s or 503s for longer than Max Wait: the retry budget of an overload (pacing/signals). */
const OVERLOAD_HINT =
	'Twin24 kept refusing requests as too many for longer than the option Max Wait allows. Lower the Concurrency option, raise Max Wait, or run the workflow later.';

const STATUS_HINTS: Record<number, string> = {
	400: 'Twin24 rejected the request as invalid. Check the ID and the Keep Recording value.',
	403: 'The Twin24 account lacks permission for this. Ask your Twin24 administrator to allow data erasure for the account the credential uses.',
	404: 'Twin24 does not know this ID, or its data was already erased. Check the ID, or turn on the option Ignore Not Found to count this as done.',
	408: 'Twin24 timed out on the request even after retries. Try again later.',
	422: 'Twin24 rejected the request as invalid. Check the ID and the Keep Recording value.',
};

/** What the user can do about a failure. */
function hintFor(failure: Failure, timeoutMs: number): string {
	switch (failure.kind) {
		case 'tokenRefused':
			return 'Twin24 refused the token. For an access token: paste a valid one into the Twin24 credential. For email and password: the token was refused even after a new login; check the account.';
		case 'login':
			return 'The Twin24 login failed; nothing was erased for this item.';
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
			if (isOverload(failure.statusCode)) return OVERLOAD_HINT;
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
