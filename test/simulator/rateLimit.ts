/**
 * The rate limit: its shape (sliding window, token bucket, fixed window, nginx's leaky bucket, a
 * cap on requests in flight), its schedule, another client's share, and what it answers: the
 * refusal's status, body, Retry-After and rate-limit headers. The HTTP simulator and the
 * virtual-time API both answer through `RateLimit.answer`, so both send the very same thing.
 */
import { STATUS_CODES } from 'node:http';
import { performance } from 'node:perf_hooks';

import { JSON_TYPE } from './shared';
import type {
	RateLimitSetting,
	RateLimitShape,
	RefusalBody,
	RefusalStatus,
	RetryAfterForm,
} from './types';

/** What a limit decided for one request. */
export interface Admission {
	/** 0 when admitted, else the milliseconds until one would be. */
	waitMs: number;
	/** Requests per `windowSeconds` (for a bucket: its size; in flight: the cap). */
	limit: number;
	remaining: number;
	/** Until the limit has all its room again. */
	resetMs: number;
	/** The window the policy header states; undefined: no policy (a cap on requests in flight). */
	windowSeconds: number | undefined;
	/** A bucket's size, stated in the IETF policy as `burst=`. */
	burst?: number;
}

/** What the API sends for one request, as far as the limit decides it. */
export interface LimitAnswer {
	admitted: boolean;
	/** The refusal's status; 200 (what the API would answer) when admitted. */
	status: number;
	/** Lower-case names: rate-limit headers, and on a refusal Retry-After and Content-Type. */
	headers: Record<string, string>;
	/** The refusal's body; '' when admitted. */
	body: string;
}

/** nginx's reason phrases where they differ from Node's (its 503 page says "Temporarily"). */
const NGINX_REASONS: Readonly<Record<number, string>> = {
	503: 'Service Temporarily Unavailable',
};

/** Another client's requests older than this have left every shape's memory (a 60 s window's too). */
const PHANTOM_HORIZON_MS = 120_000;

/** nginx's own error page, byte for byte as nginx 1.x sends it (CRLF line ends included). */
export function nginxErrorPage(status: number): string {
	const line = `${status} ${NGINX_REASONS[status] ?? STATUS_CODES[status] ?? 'Error'}`;
	return [
		'<html>',
		`<head><title>${line}</title></head>`,
		'<body>',
		`<center><h1>${line}</h1></center>`,
		'<hr><center>nginx</center>',
		'</body>',
		'</html>',
		'',
	].join('\r\n');
}

/** A refusal's body and its content type (none for an empty body). */
function refusalBody(status: number, kind: RefusalBody): { body: string; type?: string } {
	const message = status === 429 ? 'Too many requests' : 'Service temporarily overloaded';
	switch (kind) {
		case 'json':
			return { body: JSON.stringify({ message }), type: JSON_TYPE };
		case 'html':
			return { body: nginxErrorPage(status), type: 'text/html' };
		case 'text':
			return { body: message, type: 'text/plain; charset=utf-8' };
		case 'empty':
			return { body: '' };
	}
}

/**
 * Retry-After as the API sends it: delta-seconds (at least 1 for a real wait, as a whole second
 * is the header's resolution; a fixed value as given, 0 included), or an HTTP date taken from
 * `epochNowMs`, rounded up to its one-second resolution so a client that honours it is never early.
 */
export function renderRetryAfter(
	form: RetryAfterForm,
	waitMs: number,
	epochNowMs: number,
	fixedSeconds?: number,
): string | undefined {
	if (form === 'none') return undefined;
	if (form === 'seconds') return String(fixedSeconds ?? Math.max(1, Math.ceil(waitMs / 1000)));
	const delayMs = fixedSeconds === undefined ? waitMs : fixedSeconds * 1000;
	return new Date(Math.ceil((epochNowMs + delayMs) / 1000) * 1000).toUTCString();
}

/** The limit in force `elapsedMs` after the first request: the last step already reached. */
function limitAt(setting: RateLimitSetting, elapsedMs: number): number {
	let limit = setting.requestsPerSecond;
	for (const step of setting.schedule ?? []) {
		if (step.afterMs <= elapsedMs) limit = step.requestsPerSecond;
	}
	return limit;
}

/** The limit's decisions; `release` is called when an admitted request has been answered. */
interface Window {
	take(now: number, limit: number): Admission;
	release(): void;
}

/** At most N requests in any trailing second: the usual meaning of "N requests per second". */
class SlidingWindowLimit implements Window {
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
			const waitMs = freesAt - now;
			return { waitMs, limit: allowed, remaining: 0, resetMs: waitMs, windowSeconds: 1 };
		}
		this.admittedAt.push(now);
		const oldest = this.admittedAt[this.head];
		return {
			waitMs: 0,
			limit: allowed,
			remaining: allowed - count - 1,
			resetMs: oldest + 1000 - now,
			windowSeconds: 1,
		};
	}

	release(): void {}
}

/** Refilled at N per second, holding at most `burst`: bursts pass, the average is N. */
class TokenBucketLimit implements Window {
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
		const size = Math.floor(this.burst);
		return {
			waitMs: admitted ? 0 : ((1 - this.tokens) * 1000) / refillPerSecond,
			limit: size,
			remaining: Math.floor(this.tokens),
			resetMs: ((this.burst - this.tokens) * 1000) / refillPerSecond,
			windowSeconds: 1,
			burst: size,
		};
	}

	release(): void {}
}

/** N × window per window, the windows counted from the first request; the count restarts in each. */
class FixedWindowLimit implements Window {
	private origin: number | undefined;
	private index = 0;
	private count = 0;

	constructor(private readonly windowMs: number) {}

	take(now: number, perSecond: number): Admission {
		this.origin ??= now;
		const index = Math.floor((now - this.origin) / this.windowMs);
		if (index !== this.index) {
			this.index = index;
			this.count = 0;
		}
		const allowed = Math.max(1, Math.floor((perSecond * this.windowMs) / 1000));
		const resetMs = this.origin + (index + 1) * this.windowMs - now;
		const admitted = this.count < allowed;
		if (admitted) this.count++;
		return {
			waitMs: admitted ? 0 : resetMs,
			limit: allowed,
			remaining: allowed - this.count,
			resetMs,
			windowSeconds: this.windowMs / 1000,
		};
	}

	release(): void {}
}

/**
 * nginx's `limit_req` (ngx_http_limit_req_module.c, ngx_http_limit_req_lookup) with `nodelay`:
 * excess = max(0, excess − rate × ms / 1000 + 1) on whole milliseconds, refused when excess > burst;
 * a refused request changes nothing; the first request of a key finds excess 0. With `nodelay`
 * what `burst` lets through goes at once instead of being queued.
 */
class LeakyBucketLimit implements Window {
	private excess = 0;
	private last: number | undefined;

	constructor(private readonly burst: number) {}

	take(now: number, rate: number): Admission {
		// nginx reads a millisecond clock (ngx_current_msec).
		const nowMs = Math.floor(now);
		// A key nginx has not seen yet starts with excess 0 (as after an endless pause).
		const elapsedMs = this.last === undefined ? Number.POSITIVE_INFINITY : nowMs - this.last;
		const excess = Math.max(0, this.excess - (rate * Math.max(0, elapsedMs)) / 1000 + 1);
		const admitted = excess <= this.burst;
		if (admitted) {
			this.excess = excess;
			if (elapsedMs !== 0) this.last = nowMs;
		}
		const held = admitted ? this.excess : excess - 1;
		return {
			waitMs: admitted ? 0 : ((excess - this.burst) * 1000) / rate,
			limit: this.burst + 1,
			remaining: Math.max(0, Math.floor(this.burst - held)),
			resetMs: (held * 1000) / rate,
			windowSeconds: 1,
			burst: this.burst + 1,
		};
	}

	release(): void {}
}

/** At most `cap` requests admitted and not yet answered: no rate, only concurrency. */
class InFlightLimit implements Window {
	private count = 0;

	constructor(private readonly cap: number) {}

	take(): Admission {
		const admitted = this.count < this.cap;
		if (admitted) this.count++;
		// The wait is unknown: it is as long as the requests in flight take to be answered.
		const waitMs = admitted ? 0 : 1;
		const remaining = this.cap - this.count;
		return { waitMs, limit: this.cap, remaining, resetMs: 0, windowSeconds: undefined };
	}

	release(): void {
		this.count = Math.max(0, this.count - 1);
	}
}

/**
 * A refusal's defaults: nginx's limit_req sends 503 (its `limit_req_status` default) with its HTML
 * page and no Retry-After; a cap on requests in flight knows no wait to state; the rest say 429.
 */
function defaultsOf(shape: RateLimitShape): {
	status: RefusalStatus;
	body: RefusalBody;
	retryAfter: RetryAfterForm;
} {
	if (shape === 'leakyBucket') return { status: 503, body: 'html', retryAfter: 'none' };
	if (shape === 'inFlight') return { status: 429, body: 'json', retryAfter: 'none' };
	return { status: 429, body: 'json', retryAfter: 'seconds' };
}

/** The default number of requests in flight an `inFlight` limit admits: the 5th is refused. */
const DEFAULT_MAX_IN_FLIGHT = 4;

function createWindow(setting: RateLimitSetting): Window {
	switch (setting.shape ?? 'slidingWindow') {
		case 'slidingWindow':
			return new SlidingWindowLimit();
		case 'tokenBucket':
			return new TokenBucketLimit(setting.burst ?? setting.requestsPerSecond);
		case 'fixedWindow':
			return new FixedWindowLimit((setting.windowSeconds ?? 1) * 1000);
		case 'leakyBucket':
			return new LeakyBucketLimit(setting.burst ?? 0);
		case 'inFlight':
			return new InFlightLimit(setting.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
	}
}

/** Only what the limit's window does not depend on changed: the same limit, retuned. */
function sameWindow(a: RateLimitSetting, b: RateLimitSetting): boolean {
	return (
		a.shape === b.shape &&
		a.burst === b.burst &&
		a.windowSeconds === b.windowSeconds &&
		a.maxInFlight === b.maxInFlight &&
		a.retryAfter === b.retryAfter &&
		a.headers === b.headers
	);
}

/** One rate limit as configured: its shape, its schedule, its headers. Exported for fake-clock tests. */
export class RateLimit {
	private readonly window: Window;
	private firstRequestAt: number | undefined;
	/** When another client (backgroundPerSecond) sends its next request. */
	private nextPhantomAt: number | undefined;

	constructor(
		readonly setting: RateLimitSetting,
		from?: RateLimit,
	) {
		if (from !== undefined && sameWindow(from.setting, setting)) {
			this.window = from.window;
			this.firstRequestAt = from.firstRequestAt;
			this.nextPhantomAt = from.nextPhantomAt;
		} else {
			this.window = createWindow(setting);
		}
	}

	/** This limit with another rate: what its window holds stays (a change mid-run). */
	retune(setting: RateLimitSetting): RateLimit {
		return new RateLimit(setting, this);
	}

	take(now = performance.now()): { admission: Admission; headers: Record<string, string> } {
		this.firstRequestAt ??= now;
		this.takePhantoms(now);
		const limit = limitAt(this.setting, now - this.firstRequestAt);
		const admission = this.window.take(now, limit);
		return { admission, headers: this.headersFor(admission, limit) };
	}

	/**
	 * What the API answers as far as the limit decides: admitted, or the refusal with its status,
	 * body, Retry-After (from `epochNowMs` for an HTTP date) and rate-limit headers. An admitted
	 * request must be `release`d when answered (the in-flight cap counts it until then).
	 */
	answer(now: number, epochNowMs: number): LimitAnswer {
		const { admission, headers } = this.take(now);
		if (admission.waitMs === 0) return { admitted: true, status: 200, headers, body: '' };
		return this.refusal(admission.waitMs, epochNowMs, headers);
	}

	/** The refusal this limit sends when the next admission is `waitMs` away. */
	refusal(waitMs: number, epochNowMs: number, headers: Record<string, string>): LimitAnswer {
		const defaults = defaultsOf(this.setting.shape ?? 'slidingWindow');
		const status = this.setting.status ?? defaults.status;
		const { body, type } = refusalBody(status, this.setting.body ?? defaults.body);
		const retryAfter = renderRetryAfter(
			this.setting.retryAfter ?? defaults.retryAfter,
			waitMs,
			epochNowMs,
			this.setting.retryAfterSeconds,
		);
		const refused = { ...headers };
		if (type !== undefined) refused['content-type'] = type;
		if (retryAfter !== undefined) refused['retry-after'] = retryAfter;
		return { admitted: false, status, headers: refused, body };
	}

	/** An admitted request was answered (or its connection closed). */
	release(): void {
		this.window.release();
	}

	/** Another client's requests up to `now`, evenly spaced, the first one interval after ours. */
	private takePhantoms(now: number): void {
		const perSecond = this.setting.backgroundPerSecond ?? 0;
		if (perSecond <= 0 || this.setting.shape === 'inFlight') return;
		const interval = 1000 / perSecond;
		let next = this.nextPhantomAt ?? now + interval;
		// After a long pause only the recent ones matter: skip whole intervals, so the loop is bounded.
		if (next < now - PHANTOM_HORIZON_MS)
			next += Math.floor((now - PHANTOM_HORIZON_MS - next) / interval) * interval;
		for (; next <= now; next += interval) {
			this.window.take(next, limitAt(this.setting, next - (this.firstRequestAt ?? next)));
		}
		this.nextPhantomAt = next;
	}

	private headersFor(admission: Admission, rate: number): Record<string, string> {
		const style = this.setting.headers ?? 'none';
		if (style === 'none') return {};
		const limit = String(admission.limit);
		const remaining = String(admission.remaining);
		const reset = String(Math.ceil(admission.resetMs / 1000));
		if (style === 'x')
			return {
				'x-ratelimit-limit': limit,
				'x-ratelimit-remaining': remaining,
				'x-ratelimit-reset': reset,
			};
		const headers: Record<string, string> =
			style === 'ietf'
				? { 'ratelimit-limit': limit, 'ratelimit-remaining': remaining, 'ratelimit-reset': reset }
				: { ratelimit: `limit=${limit}, remaining=${remaining}, reset=${reset}` };
		const policy = policyOf(admission, rate);
		if (policy !== undefined) headers['ratelimit-policy'] = policy;
		return headers;
	}
}

/**
 * `100;w=1`: the quota per window; a bucket's quota is its rate, with `;burst=` its size. None for
 * an in-flight cap, which has no window.
 */
function policyOf(admission: Admission, rate: number): string | undefined {
	if (admission.windowSeconds === undefined) return undefined;
	if (admission.burst === undefined) return `${admission.limit};w=${admission.windowSeconds}`;
	return `${Math.floor(rate)};w=${admission.windowSeconds};burst=${admission.burst}`;
}

export function createLimit(setting: RateLimitSetting | null): RateLimit | undefined {
	return setting === null ? undefined : new RateLimit(setting);
}
