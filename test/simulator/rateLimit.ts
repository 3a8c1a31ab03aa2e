/** The rate limit: a sliding window or a token bucket, with its schedule and its headers. */
import type { OutgoingHttpHeaders } from 'node:http';
import { performance } from 'node:perf_hooks';

import type { RateLimitSetting } from './types';

/** What a limit decided for one request. */
export interface Admission {
	/** 0 when admitted, else the milliseconds until one would be. */
	waitMs: number;
	/** Requests per `windowSeconds` (for a bucket: its size). */
	limit: number;
	remaining: number;
	/** Until the limit has all its room again. */
	resetMs: number;
}

/** The limit in force `elapsedMs` after the first request: the last step already reached. */
function limitAt(setting: RateLimitSetting, elapsedMs: number): number {
	let limit = setting.requestsPerSecond;
	for (const step of setting.schedule ?? []) {
		if (step.afterMs <= elapsedMs) limit = step.requestsPerSecond;
	}
	return limit;
}

/** At most N requests in any trailing second: the usual meaning of "N requests per second". */
class SlidingWindowLimit {
	private admittedAt: number[] = [];
	private head = 0;

	take(now: number, limit: number): Admission {
		while (this.head < this.admittedAt.length && this.admittedAt[this.head] <= now - 1000)
			this.head++;
		if (this.head > 4096) {
			this.admittedAt = this.admittedAt.slice(this.head);
			this.head = 0;
		}
		const count = this.admittedAt.length - this.head;
		const allowed = Math.max(1, Math.floor(limit));
		if (count >= allowed) {
			const freesAt = this.admittedAt[this.head + count - allowed] + 1000;
			return { waitMs: freesAt - now, limit: allowed, remaining: 0, resetMs: freesAt - now };
		}
		this.admittedAt.push(now);
		const oldest = this.admittedAt[this.head];
		return {
			waitMs: 0,
			limit: allowed,
			remaining: allowed - count - 1,
			resetMs: oldest + 1000 - now,
		};
	}
}

/** Refilled at N per second, holding at most `burst`: bursts pass, the average is N. */
class TokenBucketLimit {
	private tokens: number;
	private updatedAt: number | undefined;

	constructor(private readonly burst: number) {
		this.tokens = burst;
	}

	take(now: number, refillPerSecond: number): Admission {
		const elapsed = this.updatedAt === undefined ? 0 : now - this.updatedAt;
		this.updatedAt = now;
		this.tokens = Math.min(this.burst, this.tokens + (elapsed * refillPerSecond) / 1000);
		const admitted = this.tokens >= 1;
		if (admitted) this.tokens -= 1;
		const toFullMs = ((this.burst - this.tokens) * 1000) / refillPerSecond;
		return {
			waitMs: admitted ? 0 : ((1 - this.tokens) * 1000) / refillPerSecond,
			limit: Math.floor(this.burst),
			remaining: Math.floor(this.tokens),
			resetMs: toFullMs,
		};
	}
}

/** One rate limit as configured: its shape, its schedule, its headers. Exported for fake-clock tests. */
export class RateLimit {
	private readonly window: SlidingWindowLimit | TokenBucketLimit;
	private firstRequestAt: number | undefined;

	constructor(
		readonly setting: RateLimitSetting,
		from?: RateLimit,
	) {
		// Only the rate (or its schedule) changed: the same limit, retuned.
		const retuned =
			from !== undefined &&
			from.setting.shape === setting.shape &&
			from.setting.burst === setting.burst &&
			from.setting.retryAfter === setting.retryAfter &&
			from.setting.headers === setting.headers;
		if (retuned) {
			this.window = from.window;
			this.firstRequestAt = from.firstRequestAt;
		} else {
			this.window =
				setting.shape === 'tokenBucket'
					? new TokenBucketLimit(setting.burst ?? setting.requestsPerSecond)
					: new SlidingWindowLimit();
		}
	}

	/** This limit with another rate: what its window holds stays (a change mid-run). */
	retune(setting: RateLimitSetting): RateLimit {
		return new RateLimit(setting, this);
	}

	take(now = performance.now()): { admission: Admission; headers: OutgoingHttpHeaders } {
		this.firstRequestAt ??= now;
		const limit = limitAt(this.setting, now - this.firstRequestAt);
		const admission = this.window.take(now, limit);
		return { admission, headers: this.headersFor(admission, limit) };
	}

	private headersFor(admission: Admission, limit: number): OutgoingHttpHeaders {
		const style = this.setting.headers ?? 'none';
		if (style === 'none') return {};
		const reset = String(Math.ceil(admission.resetMs / 1000));
		const prefix = style === 'ietf' ? 'ratelimit' : 'x-ratelimit';
		const headers: OutgoingHttpHeaders = {
			[`${prefix}-limit`]: String(admission.limit),
			[`${prefix}-remaining`]: String(admission.remaining),
			[`${prefix}-reset`]: reset,
		};
		if (style === 'ietf') {
			const burst = this.setting.shape === 'tokenBucket' ? `;burst=${admission.limit}` : '';
			headers['ratelimit-policy'] = `${Math.floor(limit)};w=1${burst}`;
		}
		return headers;
	}
}

export function createLimit(setting: RateLimitSetting | null): RateLimit | undefined {
	return setting === null ? undefined : new RateLimit(setting);
}
