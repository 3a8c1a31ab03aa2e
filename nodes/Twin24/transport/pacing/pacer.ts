import { sleep } from 'n8n-workflow';

import { readRateLimitHints } from './rateLimitHeaders';
import type { RateLimitHints } from './rateLimitHeaders';

/** Longest single sleep of `pause`, so that a cancel is noticed within this long. */
const PAUSE_SLICE_MS = 50;

/** Waits ms, ending early (within ~50 ms) once `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
	const until = Date.now() + ms;
	for (;;) {
		const left = until - Date.now();
		if (left <= 0 || isAborted(signal)) return;
		await sleep(Math.min(left, PAUSE_SLICE_MS));
	}
}

export interface PacerClock {
	now(): number;
	wait(ms: number, signal?: AbortSignal): Promise<void>;
}

function isAborted(signal: AbortSignal | undefined): boolean {
	return signal?.aborted === true;
}

export const systemClock: PacerClock = { now: () => Date.now(), wait: pause };

/** The pace a run starts from before anything is known, and how fast it doubles from there. */
const START_RATE = 50;
/** Requests let through at once at the very start, before the pace applies (none of them waits). */
const START_BURST = 10;
const START_DOUBLING_MS = 200;
const RECOVER_DOUBLING_MS = 1000;
/** A 429 event cuts the pace at least to this share: the same cut for every sender makes them fair. */
const DECREASE = 0.9;
/** At most one such cut per window: 429s within it echo the same overshoot. */
const WINDOW_MS = 1000;
/** A pace set to what the server admitted stays a little below it: right at it, it meets it again. */
const ADMITTED_MARGIN = 0.97;
/**
 * After a cut the pace grows by the same number of requests per second for every sender,
 * whatever it sends: first 1/s, twice as fast every PROBE_DOUBLING_MS. Growth independent of the
 * own pace is what lets independent senders (n8n workers) converge on equal shares.
 */
const PROBE_STEP = 1;
const PROBE_DOUBLING_MS = 300;
/**
 * Probing starts this long after a cut, and twice as long (up to PROBE_PLATEAU_MAX_MS) after each
 * cut that lands where the last one did: a limit found again and again is probed less often.
 */
const PROBE_PLATEAU_MS = 300;
const PROBE_PLATEAU_MAX_MS = 600;
/** Cuts within this share of the last one are at the same limit. */
const SAME_LIMIT = 0.1;
/** Beyond this time since the last cut the growth stops accelerating. */
const PROBE_ACCELERATION_MS = 8000;
/**
 * The pace never grows beyond this multiple of what was really sent lately, so that a pace that
 * is not used (a busy process, a run with few items) cannot grow into a burst later.
 */
const START_HEADROOM = 2;
const HEADROOM = 1.5;
const SENT_WINDOW_MS = 250;
/** Below this pace the headroom rule does not hold the pace back. */
const MIN_PACE = 5;
const LOWEST_PACE = 0.1;
const MIN_MEASURED_REQUESTS = 8;
/**
 * A request that finds no one waiting this long after the last one was let through: the pace sat
 * idle meanwhile (a run ending, its last items waiting out a Retry-After, the next run starting).
 */
const IDLE_MS = 100;
/** A window idle for more than this share tells what was sent, not what the server would take. */
const IDLE_SHARE = 0.25;
/** A rate measured since the server was found full needs at least this long. */
const REFILL_SPAN_MS = 50;
/** How far behind its schedule the pace may send, to make up for timers that fire late. */
const CATCH_UP_MS = 10;
/**
 * A Retry-After of up to a second is read as "slow down": in whole seconds (or an HTTP date, with
 * its rounding, hence the margin) it cannot say less, and a per-second limit frees capacity
 * continuously. Longer ones, and any while the server keeps refusing, make every request wait.
 */
const SHORT_RETRY_AFTER_MS = 1100;
const BACKOFF_FACTOR = 2;
/**
 * Once the work left would be done within this long at the pace, the pace stops probing upward:
 * a 429 then costs its request a whole Retry-After at the very end of the run, more than a faster
 * pace could win back.
 */
const TAIL_MS = 1200;
/** The pause the pacer chooses when 429s without Retry-After keep coming with no success between. */
const OWN_PAUSE_BASE_MS = 250;
const OWN_PAUSE_CAP_MS = 30000;

interface Waiter {
	resolve(turn: number | undefined): void;
	signal?: AbortSignal;
	onAbort(): void;
}

/**
 * One pace for all requests to one Twin24 account. It starts low and doubles quickly until the
 * first 429, so that many concurrent requests do not all meet the limit at once. A 429 event
 * brings the pace down to a little under what the server admitted over the last second (requests
 * let through less those refused, over the part of the second requests wanted to go) and, once
 * per second at most, cuts it by DECREASE; refused again soon after, to what the server took since
 * it was found full. After a short plateau it grows by an amount that depends only on the time
 * since the last cut (AIMD, fair between senders that share no memory). 429s for requests sent
 * before the last slowdown are the same event. After the first 429 no second holds more admitted
 * requests than the pace, and near the end of the work the pace stops probing. RateLimit headers
 * with a stated window cap the pace; an exhausted quota pauses it. Between runs it rests (see
 * rest and resume): the next run goes on from the pace found.
 */
export class Pacer {
	private pace = START_RATE;
	/**
	 * start: nothing known, doubling fast. recover: after the first 429, whose measure may be a
	 * start-up burst or a steady rate, doubling slowly back up to the next cut. probe: AIMD.
	 */
	private phase: 'start' | 'recover' | 'probe' = 'start';
	private pauseEnd = 0;
	private nextSlotAt = Number.NEGATIVE_INFINITY;
	private lastGrowthAt: number | undefined;
	private lastCutAt = Number.NEGATIVE_INFINITY;
	private lastSlowdownAt = Number.NEGATIVE_INFINITY;
	private firstGrantAt: number | undefined;
	private lastGrantAt: number | undefined;
	private startBurstLeft = START_BURST;
	private readonly waiters: Waiter[] = [];
	private dispatching = false;
	private dispatchWait: AbortController | undefined;
	private eventsWithoutSuccess = 0;
	/** Events since the last cut: each one more pauses twice as long (a window that stays full). */
	private eventsSinceCut = 0;
	private lastSuccessAt: number | undefined;
	/**
	 * When the server said the first request it refused would be taken (its refusal time plus its
	 * Retry-After): the pacer's own backoff never pauses beyond that promise while it holds.
	 */
	private promisedAt = Number.NEGATIVE_INFINITY;
	private ceiling = Number.POSITIVE_INFINITY;
	/** The pace right after the last slowdown: below what the server refused. */
	private paceAfterCut = Number.POSITIVE_INFINITY;
	private plateauMs = PROBE_PLATEAU_MS;
	/** When the request that brought the last cut was sent: the server was full from then on. */
	private fullSince = Number.NEGATIVE_INFINITY;
	/** The requests let through in the window before the last cut (what a sliding window frees next). */
	private grantsBeforeCut: readonly number[] = [];
	/** Whether the last slowdown measured a whole window (see admittedRate), not a start-up burst. */
	private measuredWholeWindow = false;
	/** When the requests of the last window were let through, and when the refused ones were. */
	private readonly grants = new RecentQueue<number>();
	private readonly refusals = new RecentQueue<number>();
	/** When the pace sat idle for want of requests: [from, to] (see IDLE_MS). */
	private readonly idleSpans = new RecentQueue<readonly [number, number]>();
	/** Requests each user of this pace still has to send, as far as it told. */
	private readonly backlogs = new Map<object, number>();

	/** Since when no one has used this pace (see rest). */
	private restingSince: number | undefined;

	constructor(private readonly clock: PacerClock = systemClock) {}

	get pausedUntil(): number {
		return this.pauseEnd > this.clock.now() ? this.pauseEnd : 0;
	}

	get rate(): number {
		return this.pace;
	}

	/**
	 * Turns are given in the order they were asked for, so a request refused and sent again
	 * queues behind the others instead of meeting a full window again and again.
	 */
	async waitForTurn(signal?: AbortSignal): Promise<number | undefined> {
		if (isAborted(signal)) return undefined;
		const now = this.clock.now();
		if (this.waiters.length === 0) {
			this.noteIdle(now);
			if (this.phase === 'start' && this.startBurstLeft > 0) {
				this.startBurstLeft--;
				return this.grant(now);
			}
			this.grow(now);
			if (this.slotAt(now) <= now) return this.take(now);
		}
		return await new Promise<number | undefined>((resolve) => {
			const waiter: Waiter = { resolve, signal, onAbort: () => this.drop(waiter) };
			signal?.addEventListener('abort', waiter.onAbort, { once: true });
			this.waiters.push(waiter);
			void this.dispatch();
		});
	}

	/** How many requests `user` still has to send; undefined when it is done with the pace. */
	setBacklog(user: object, requests: number | undefined): void {
		if (requests === undefined) this.backlogs.delete(user);
		else this.backlogs.set(user, requests);
	}

	/**
	 * No one uses the pace now, but it may be taken up again: what it learned stays, and of the
	 * times it keeps only the last window's (a run that follows at once still sees them).
	 */
	rest(): void {
		const now = this.clock.now();
		this.restingSince = now;
		this.grants.dropWhile((at) => at <= now - WINDOW_MS);
		this.refusals.dropWhile((at) => at <= now - WINDOW_MS);
		this.idleSpans.dropWhile(([, to]) => to <= now - WINDOW_MS);
		this.grants.compact();
		this.refusals.compact();
		this.idleSpans.compact();
	}

	/**
	 * Taken up again after a rest: it goes on from where it was, as if the rest had not been. The
	 * pace has not grown meanwhile, and its probing goes on from the same point.
	 */
	resume(): void {
		if (this.restingSince === undefined) return;
		const now = this.clock.now();
		this.lastCutAt += now - this.restingSince;
		this.lastGrowthAt = now;
		this.restingSince = undefined;
	}

	onSuccess(_sentAt: number, headers?: Readonly<Record<string, unknown>>): void {
		this.eventsWithoutSuccess = 0;
		this.lastSuccessAt = this.clock.now();
		if (headers !== undefined) this.applyHints(readRateLimitHints(headers, this.clock.now()));
	}

	onRateLimited(
		sentAt: number,
		retryAfterMs: number | undefined,
		headers?: Readonly<Record<string, unknown>>,
	): void {
		const now = this.clock.now();
		this.refusals.push(sentAt);
		if (headers !== undefined) this.applyHints(readRateLimitHints(headers, now));
		if (retryAfterMs !== undefined && this.promisedAt <= now) this.promisedAt = now + retryAfterMs;
		if (sentAt < this.lastSlowdownAt) return;
		this.eventsWithoutSuccess++;
		this.slowDown(now, sentAt);
		this.pauseAfterEvent(now, retryAfterMs);
	}

	// ---------------------------------------------------------------- growth

	private grow(now: number): void {
		const from = this.lastGrowthAt ?? now;
		this.lastGrowthAt = now;
		if (now <= from) return;
		const settled = this.phase === 'probe' || this.measuredWholeWindow;
		if (settled && this.backlog() <= (this.pace * TAIL_MS) / 1000) {
			// What was probed since the last cut is not known to be safe. (After the first 429 the
			// pace still doubles back up near the end, unless it measured a whole window: that
			// measure may be far below the limit, and short runs that follow one another would
			// never leave it.)
			this.pace = Math.min(this.pace, this.paceAfterCut);
			return;
		}
		const headroom = this.phase === 'start' ? START_HEADROOM : HEADROOM;
		const limit = Math.min(this.ceiling, Math.max(MIN_PACE, headroom * this.sentRate(now)));
		if (this.pace >= limit) {
			// Not sending at the pace (too few items, or a busy process): the probe waits too.
			if (this.phase === 'probe') this.lastCutAt += now - from;
			return;
		}
		const grown =
			this.phase === 'probe'
				? this.pace + this.probeGrowth(from - this.probeFrom, now - this.probeFrom)
				: this.pace *
					2 ** ((now - from) / (this.phase === 'start' ? START_DOUBLING_MS : RECOVER_DOUBLING_MS));
		this.pace = Math.min(grown, limit);
	}

	/** Requests all users still have to send; unbounded while any user has not said. */
	private backlog(): number {
		if (this.backlogs.size === 0) return Number.POSITIVE_INFINITY;
		let total = 0;
		for (const requests of this.backlogs.values()) total += requests;
		return total;
	}

	/** Probing starts a while after the last cut: at a low limit it would meet it again at once. */
	private get probeFrom(): number {
		return this.lastCutAt + this.plateauMs;
	}

	/** Requests per second added between `from` and `to` ms after the last cut. */
	private probeGrowth(from: number, to: number): number {
		const curve = (sinceStart: number) => {
			const ms = Math.max(0, sinceStart);
			const capped = Math.min(ms, PROBE_ACCELERATION_MS);
			const doublings = 2 ** (capped / PROBE_DOUBLING_MS);
			const speed = ((PROBE_STEP * Math.LN2) / PROBE_DOUBLING_MS) * doublings;
			return PROBE_STEP * (doublings - 1) + speed * (ms - capped);
		};
		return curve(to) - curve(from);
	}

	private slotAt(now: number): number {
		return Math.max(now - CATCH_UP_MS, this.pauseEnd, this.nextSlotAt, this.windowSlotAt(now));
	}

	/**
	 * After a slowdown no window of a second holds more requests taken by the server than the pace:
	 * requests sent faster before a cut still fill a sliding window, so the pace waits for them to
	 * leave it instead of meeting it full.
	 */
	private windowSlotAt(now: number): number {
		if (this.phase === 'start') return Number.NEGATIVE_INFINITY;
		const from = now - WINDOW_MS;
		this.grants.dropWhile((at) => at <= from);
		this.refusals.dropWhile((at) => at <= from);
		const taken = this.grants.size - this.refusals.size;
		if (taken < Math.max(1, (this.pace * WINDOW_MS) / 1000)) return Number.NEGATIVE_INFINITY;
		return (this.grants.oldest ?? now) + WINDOW_MS;
	}

	private take(now: number): number {
		this.nextSlotAt = this.slotAt(now) + 1000 / this.pace;
		return this.grant(now);
	}

	/** Lets the waiters through one by one at the pace; runs only while someone waits. */
	private async dispatch(): Promise<void> {
		if (this.dispatching) return;
		this.dispatching = true;
		try {
			while (this.waiters.length > 0) {
				const now = this.clock.now();
				this.grow(now);
				const slot = this.slotAt(now);
				if (slot > now) {
					// Woken early when the last waiter cancels, so no wait outlives its use.
					this.dispatchWait = new AbortController();
					await this.clock.wait(slot - now, this.dispatchWait.signal);
					this.dispatchWait = undefined;
					continue;
				}
				const waiter = this.waiters.shift() as Waiter;
				waiter.signal?.removeEventListener('abort', waiter.onAbort);
				waiter.resolve(this.take(now));
			}
		} finally {
			this.dispatching = false;
		}
	}

	private drop(waiter: Waiter): void {
		const index = this.waiters.indexOf(waiter);
		if (index < 0) return;
		this.waiters.splice(index, 1);
		waiter.resolve(undefined);
		if (this.waiters.length === 0) this.dispatchWait?.abort();
	}

	private grant(at: number): number {
		this.firstGrantAt ??= at;
		this.lastGrantAt = at;
		this.grants.push(at);
		this.grants.dropWhile((granted) => granted <= at - WINDOW_MS);
		return at;
	}

	/** Requests per second let through in the last SENT_WINDOW_MS (less of it early in a run). */
	private sentRate(now: number): number {
		let recent = 0;
		for (const at of this.grants.newestFirst()) {
			if (at <= now - SENT_WINDOW_MS) break;
			recent++;
		}
		const span = Math.min(
			SENT_WINDOW_MS,
			Math.max(now - (this.firstGrantAt ?? now), 1000 / START_RATE),
		);
		return (recent * 1000) / span;
	}

	// ---------------------------------------------------------------- 429 events

	private slowDown(now: number, sentAt: number): void {
		const cutDue = now >= this.lastCutAt + WINDOW_MS;
		const refill = cutDue ? Number.POSITIVE_INFINITY : this.refillRate(now);
		const refilled = refill * ADMITTED_MARGIN < this.pace;
		const admitted = Math.min(this.admittedRate(now), refill);
		const cut = cutDue ? this.pace * DECREASE : this.pace;
		this.pace = Math.max(LOWEST_PACE, Math.min(cut, admitted * ADMITTED_MARGIN));
		if (cutDue) this.lengthenPlateau(this.pace);
		this.paceAfterCut = this.pace;
		if (cutDue) {
			this.lastCutAt = now;
			this.eventsSinceCut = 0;
			this.fullSince = sentAt;
			this.grantsBeforeCut = this.grants.toArray();
		}
		this.eventsSinceCut++;
		this.measuredWholeWindow = this.eventsWithoutSuccess >= 2;
		// The first 429 within a window of the first request may measure a start-up burst or a
		// steady rate (see admittedRate): the pace doubles back up to the next cut. Later, its
		// measure is a whole window's: the pace probes from it.
		if (this.phase === 'start')
			this.phase = this.sinceFirstGrant(now) < WINDOW_MS ? 'recover' : 'probe';
		else if (cutDue) this.phase = 'probe';
		if (refilled) {
			// Measured while the server was full: its own rate, nothing to double back up to.
			this.phase = 'probe';
			this.lastCutAt = now;
		}
		this.lastSlowdownAt = now;
		this.lastGrowthAt = now;
	}

	private sinceFirstGrant(now: number): number {
		return now - (this.firstGrantAt ?? now);
	}

	/**
	 * Refused again after a cut: requests per second the server took since it was found full. A
	 * token bucket takes them at its rate while the last window's count still holds its burst; a
	 * sliding window frees only what it took a window earlier, so that much says nothing.
	 */
	private refillRate(now: number): number {
		const span = now - this.fullSince;
		if (span < REFILL_SPAN_MS || span > WINDOW_MS) return Number.POSITIVE_INFINITY;
		const taken = this.grants.countFrom(this.fullSince) - this.refusals.countFrom(this.fullSince);
		const freedByWindow = this.grantsBeforeCut.filter((at) => at <= now - WINDOW_MS).length;
		if (taken - freedByWindow < MIN_MEASURED_REQUESTS) return Number.POSITIVE_INFINITY;
		return (taken * 1000) / span;
	}

	private lengthenPlateau(newPace: number): void {
		const sameLimit = Math.abs(newPace - this.paceAfterCut) <= SAME_LIMIT * this.paceAfterCut;
		this.plateauMs = sameLimit
			? Math.min(PROBE_PLATEAU_MAX_MS, 2 * this.plateauMs)
			: PROBE_PLATEAU_MS;
	}

	/**
	 * Requests per second the server took over the last window: those let through less those
	 * refused (requests still in flight mostly succeed). Within the first window of a run the
	 * count may be a start-up burst or a steady rate: read between the two.
	 */
	private admittedRate(now: number): number {
		const from = now - WINDOW_MS;
		this.grants.dropWhile((at) => at <= from);
		this.refusals.dropWhile((at) => at <= from);
		// Too few requests to tell a rate: only the cut applies.
		if (this.grants.size < MIN_MEASURED_REQUESTS) return Number.POSITIVE_INFINITY;
		const admitted = Math.max(0, this.grants.size - this.refusals.size);
		const elapsed = this.sinceFirstGrant(now);
		const perWindow = (admitted * 1000) / this.busyInWindow(now);
		// Refused again with nothing taken since: the window is full, so it holds the whole limit.
		if (elapsed >= WINDOW_MS || this.eventsWithoutSuccess >= 2) return perWindow;
		const perElapsed = (admitted * 1000) / Math.max(elapsed, 1000 / START_RATE);
		return Math.sqrt(perWindow * perElapsed);
	}

	/** A request that finds no one waiting: the pace may have sat idle since the last one. */
	private noteIdle(now: number): void {
		const last = this.lastGrantAt;
		if (last !== undefined && now - last >= IDLE_MS) this.idleSpans.push([last, now]);
	}

	/**
	 * How much of the last window requests wanted to go. Idle for much of it (a run's last items
	 * waiting out a Retry-After, one run ending and the next starting), the server took what it was
	 * sent then, which says nothing of its limit: only the rest of the window counts.
	 */
	private busyInWindow(now: number): number {
		const from = now - WINDOW_MS;
		this.idleSpans.dropWhile(([, to]) => to <= from);
		let idle = 0;
		for (const [start, end] of this.idleSpans.newestFirst()) idle += end - Math.max(start, from);
		return idle > IDLE_SHARE * WINDOW_MS ? WINDOW_MS - idle : WINDOW_MS;
	}

	private pauseAfterEvent(now: number, retryAfterMs: number | undefined): void {
		// Refused again, with nothing admitted for a whole window: the server means it.
		const insisting =
			this.eventsWithoutSuccess >= 2 &&
			now - (this.lastSuccessAt ?? this.firstGrantAt ?? now) >= WINDOW_MS;
		let pauseMs: number;
		if (retryAfterMs !== undefined && (retryAfterMs > SHORT_RETRY_AFTER_MS || insisting)) {
			pauseMs = retryAfterMs;
		} else if (insisting) {
			pauseMs = Math.min(
				OWN_PAUSE_CAP_MS,
				OWN_PAUSE_BASE_MS * 2 ** (this.eventsWithoutSuccess - 2),
			);
		} else {
			// A window that stays full: each refusal since the cut waits twice as long.
			const backoff = (1000 / this.pace) * BACKOFF_FACTOR ** (this.eventsSinceCut - 1);
			const promise = this.promisedAt > now ? this.promisedAt - now : Number.POSITIVE_INFINITY;
			pauseMs = Math.min(retryAfterMs ?? WINDOW_MS, backoff, promise);
		}
		this.pauseEnd = Math.max(this.pauseEnd, now + pauseMs);
	}

	// ---------------------------------------------------------------- RateLimit headers

	private applyHints(hints: RateLimitHints): void {
		// A limit counts in a window the server must state: a bare limit may be a bucket's size.
		if (hints.limit !== undefined && hints.windowMs !== undefined) {
			this.ceiling = (hints.limit * 1000) / hints.windowMs;
			if (this.phase !== 'probe') {
				this.phase = 'probe';
				this.lastCutAt = this.clock.now();
				this.pace = this.ceiling;
			}
			this.pace = Math.min(this.pace, this.ceiling);
		}
		const resetMs = hints.resetMs ?? 0;
		if (hints.remaining === 0 && resetMs > SHORT_RETRY_AFTER_MS) {
			this.pauseEnd = Math.max(this.pauseEnd, this.clock.now() + resetMs);
		}
	}
}

/** Items in the order they were added; the oldest are dropped from the front in O(1). */
class RecentQueue<T> {
	private items: T[] = [];
	private head = 0;

	get size(): number {
		return this.items.length - this.head;
	}

	get oldest(): T | undefined {
		return this.size > 0 ? this.items[this.head] : undefined;
	}

	push(item: T): void {
		this.items.push(item);
	}

	dropWhile(old: (item: T) => boolean): void {
		while (this.head < this.items.length && old(this.items[this.head])) this.head++;
		if (this.head > 1024 && this.head * 2 > this.items.length) {
			this.items = this.items.slice(this.head);
			this.head = 0;
		}
	}

	/** How many items are at or after `from` (items are in order). */
	countFrom(this: RecentQueue<number>, from: number): number {
		let count = 0;
		for (const item of this.newestFirst()) {
			if (item < from) break;
			count++;
		}
		return count;
	}

	/** Frees the memory of the items dropped from the front. */
	compact(): void {
		this.items = this.items.slice(this.head);
		this.head = 0;
	}

	toArray(): T[] {
		return this.items.slice(this.head);
	}

	*newestFirst(): IterableIterator<T> {
		for (let index = this.items.length - 1; index >= this.head; index--) yield this.items[index];
	}
}
