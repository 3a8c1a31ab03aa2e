/**
 * The one place where an answer is read for what it says about the account's limit: every status
 * and every rate-limit header is classified here, once. The retry policy asks `isOverload` which
 * budget a failure falls under; the pace learns from the `Signal` alone.
 */

/**
 * Whether a status says "too many requests, slow down": 429, and 503, which front-ends such as
 * nginx's `limit_req` send for the same reason (a 503 is overload until proven otherwise).
 */
export function isOverload(statusCode: number): boolean {
	return statusCode === 429 || statusCode === 503;
}

/** What an answer's rate-limit headers announce. Every field is optional: Twin24 documents none. */
export interface Quota {
	/** Requests allowed per window. */
	limit?: number;
	remaining?: number;
	/** Until the window resets (or the quota is back). */
	resetMs?: number;
	/** The window `limit` counts in, when the server states it (`w=` of a policy). */
	windowMs?: number;
}

/** What one answer says about the account's limit. */
export type Signal =
	/** The server took the request (any answer but an overload): it had room for it. */
	| { kind: 'taken'; quota: Quota }
	/** Refused for overload; `retryAfterMs` when the server said how long to wait. */
	| { kind: 'refused'; statusCode: number; retryAfterMs: number | undefined; quota: Quota }
	/** No answer, or a gateway's or server's trouble: says nothing about the limit. */
	| { kind: 'silent' };

export const SILENT: Signal = { kind: 'silent' };

/** The one classification of an answer for the pace. */
export function readSignal(
	statusCode: number,
	headers: Readonly<Record<string, unknown>>,
	now: number,
): Signal {
	// Trouble, not the limit (408, 500, 502, 504): the request may not have reached the limit at all.
	if (statusCode === 408 || (statusCode >= 500 && !isOverload(statusCode))) return SILENT;
	const quota = readQuota(headers, now);
	if (!isOverload(statusCode)) return { kind: 'taken', quota };
	const retryAfterMs = parseRetryAfter(headers['retry-after'], now);
	return { kind: 'refused', statusCode, retryAfterMs, quota };
}

/** Retry-After in ms: delta-seconds (`0` included) or an HTTP date; undefined if absent or bad. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
	const field = text(value)?.trim();
	if (field === undefined || field === '') return undefined;
	const milliseconds = /^\d+(\.\d+)?$/.test(field) ? Number(field) * 1000 : Date.parse(field) - now;
	if (Number.isNaN(milliseconds)) return undefined;
	return Math.max(0, milliseconds);
}

/** Reset values above this are epoch seconds, not a delta (1e9 s is 2001). */
const EPOCH_SECONDS_FROM = 1e9;
/** ... and above this, epoch milliseconds. */
const EPOCH_MILLISECONDS_FROM = 1e12;

/** A header's value as text; a header sent more than once, as HTTP joins it. */
function text(value: unknown): string | undefined {
	if (Array.isArray(value)) return value.map(String).join(', ');
	return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** The first number in a field, when it is one a quota can have (not negative). */
function number(value: string | undefined): number | undefined {
	const parsed = Number(/-?\d+(\.\d+)?/.exec(value ?? '')?.[0]);
	return parsed >= 0 ? parsed : undefined;
}

/** `name=value` or `name;value` parameters of a structured field, first occurrence wins. */
function parameter(field: string | undefined, names: readonly string[]): number | undefined {
	if (field === undefined) return undefined;
	for (const name of names) {
		const match = new RegExp(`(?:^|[;,\\s])${name}=("?)(\\d+(?:\\.\\d+)?)\\1`, 'i').exec(field);
		if (match !== null) return Number(match[2]);
	}
	return undefined;
}

function resetToMs(seconds: number | undefined, now: number): number | undefined {
	if (seconds === undefined) return undefined;
	if (seconds >= EPOCH_MILLISECONDS_FROM) return Math.max(0, seconds - now);
	if (seconds >= EPOCH_SECONDS_FROM) return Math.max(0, seconds * 1000 - now);
	return seconds * 1000;
}

/** A policy such as `100;w=1` or `"default";q=100;w=60`: the quota and its window. */
function readPolicy(field: string | undefined): { limit?: number; windowMs?: number } {
	if (field === undefined) return {};
	const first = field.split(',')[0];
	const quota = parameter(first, ['q']) ?? number(/^\s*\d/.test(first) ? first : undefined);
	const windowSeconds = parameter(first, ['w']);
	return {
		limit: quota,
		windowMs: windowSeconds !== undefined && windowSeconds > 0 ? windowSeconds * 1000 : undefined,
	};
}

/**
 * An answer's rate-limit headers, in any of the common spellings: the IETF draft's
 * `RateLimit-Limit` / `-Remaining` / `-Reset` / `RateLimit-Policy` and its combined `RateLimit`
 * field, and the older `X-RateLimit-*`.
 */
export function readQuota(headers: Readonly<Record<string, unknown>>, now: number): Quota {
	const field = (name: string) =>
		text(headers[`ratelimit-${name}`]) ?? text(headers[`x-ratelimit-${name}`]);
	const combined = text(headers.ratelimit);
	const policy = readPolicy(field('policy'));
	const limitField = field('limit');
	// A policy states its quota and window together; a bare limit may be a bucket's size.
	const limit =
		policy.windowMs !== undefined && policy.limit !== undefined
			? policy.limit
			: (number(limitField?.split(',')[0]) ?? parameter(combined, ['limit']) ?? policy.limit);
	const remaining = number(field('remaining')) ?? parameter(combined, ['remaining', 'r']);
	const reset = number(field('reset')) ?? parameter(combined, ['reset', 't']);
	return {
		limit,
		remaining,
		resetMs: resetToMs(reset, now),
		windowMs: policy.windowMs ?? readPolicy(limitField?.split(',').slice(1).join(',')).windowMs,
	};
}
