/**
 * What a response's rate-limit headers say, in any of the common spellings: the IETF draft's
 * `RateLimit-Limit` / `-Remaining` / `-Reset` / `RateLimit-Policy` and its combined `RateLimit`
 * field, and the older `X-RateLimit-*`. Every field is optional: Twin24 documents none of them.
 */
export interface RateLimitHints {
	/** Requests allowed per window. */
	limit?: number;
	remaining?: number;
	/** Until the window resets (or the quota is back). */
	resetMs?: number;
	/** The window `limit` counts in, when the server states it (`w=` of a policy). */
	windowMs?: number;
}

/** Reset values above this are epoch seconds, not a delta. */
const EPOCH_SECONDS_FROM = 1e9;
const EPOCH_MILLISECONDS_FROM = 1e12;

function text(value: unknown): string | undefined {
	if (typeof value === 'string') return value;
	if (typeof value === 'number') return String(value);
	if (Array.isArray(value))
		return value
			.map(text)
			.filter((part) => part !== undefined)
			.join(', ');
	return undefined;
}

function number(value: string | undefined): number | undefined {
	if (value === undefined) return undefined;
	const match = /-?\d+(\.\d+)?/.exec(value);
	const parsed = match === null ? Number.NaN : Number(match[0]);
	return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
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

export function readRateLimitHints(
	headers: Readonly<Record<string, unknown>>,
	now: number,
): RateLimitHints {
	const field = (name: string) => text(headers[name]);
	const combined = field('ratelimit');
	const policy = readPolicy(field('ratelimit-policy') ?? field('x-ratelimit-policy'));
	const limitField = field('ratelimit-limit') ?? field('x-ratelimit-limit');
	// A policy states its quota and window together; a bare limit may be a bucket's size.
	const limit =
		policy.windowMs !== undefined && policy.limit !== undefined
			? policy.limit
			: (number(limitField?.split(',')[0]) ?? parameter(combined, ['limit']) ?? policy.limit);
	const remaining =
		number(field('ratelimit-remaining') ?? field('x-ratelimit-remaining')) ??
		parameter(combined, ['remaining', 'r']);
	const reset =
		number(field('ratelimit-reset') ?? field('x-ratelimit-reset')) ??
		parameter(combined, ['reset', 't']);
	return {
		limit,
		remaining,
		resetMs: resetToMs(reset, now),
		windowMs: policy.windowMs ?? readPolicy(limitField?.split(',').slice(1).join(',')).windowMs,
	};
}

/** Retry-After as milliseconds to wait: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
	if (typeof value !== 'string' || value.trim() === '') return undefined;
	const trimmed = value.trim();
	const milliseconds = /^\d+(\.\d+)?$/.test(trimmed)
		? Number(trimmed) * 1000
		: Date.parse(trimmed) - now;
	if (Number.isNaN(milliseconds)) return undefined;
	return Math.max(0, milliseconds);
}
