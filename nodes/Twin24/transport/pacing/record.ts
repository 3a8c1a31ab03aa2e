/**
 * What the account sent in the last window, and what the server took of it: the measurements
 * the estimator's law runs on (the rate taken, the rate sent, the room a window has left).
 */
import { PACE_TUNING as LAW } from './tuning';

/** Times in order; the oldest are dropped from the front in O(1). */
class Timeline {
	private items: number[] = [];
	private head = 0;

	get size(): number {
		return this.items.length - this.head;
	}

	push(at: number): void {
		this.items.push(at);
	}

	/** Drops the times at or before `from`; frees their memory once they are most of it. */
	dropThrough(from: number): void {
		while (this.head < this.items.length && this.items[this.head] <= from) this.head++;
		if (this.head > 1024 && this.head * 2 > this.items.length) this.compact();
	}

	/** The first time after `from`. */
	oldestAfter(from: number): number | undefined {
		for (let index = this.head; index < this.items.length; index++) {
			if (this.items[index] > from) return this.items[index];
		}
		return undefined;
	}

	/** How many times are after `from`. */
	countAfter(from: number): number {
		let count = 0;
		for (let index = this.items.length - 1; index >= this.head; index--) {
			if (this.items[index] <= from) break;
			count++;
		}
		return count;
	}

	compact(): void {
		this.items = this.items.slice(this.head);
		this.head = 0;
	}
}

/**
 * A rate read two ways, over the whole window and over the part of it since the first request,
 * and the two weighed by that part's share of the window: early in a run a count may be a burst
 * or a steady rate, and the longer it was counted the more its whole-window reading says.
 * `afterBurst` reads that part without the start's burst: requests sent at once are no rate.
 */
export interface TakenRate {
	lower: number;
	upper: number;
	weighed: number;
	/** Undefined when too few requests followed the burst to tell a rate. */
	afterBurst: number | undefined;
}

export class SendRecord {
	private firstSentAt: number | undefined;
	/** When the last request of the start's burst was sent (see PACE_TUNING.startBurst). */
	private burstSentAt = Number.NEGATIVE_INFINITY;
	/**
	 * The quickest answer yet, sent to taken: a request reaches the server's window up to this
	 * long after it was sent, so it leaves the window up to this long after our record says.
	 */
	private quickestAnswerMs = 0;
	/** Send times of the requests of the last window, and of those refused among them. */
	private readonly sent = new Timeline();
	private readonly refused = new Timeline();
	/** Time in the last window when no one wanted to send (see idle). */
	private readonly idleSpans: Array<[number, number]> = [];

	/** A request was sent at `at`; `inBurst`: at once with others, at the very start. */
	sentAt(at: number, inBurst: boolean): void {
		this.firstSentAt ??= at;
		if (inBurst) this.burstSentAt = at;
		this.sent.push(at);
	}

	/** A request sent at `sentAt` was taken, answered `now`. */
	takenAt(sentAt: number, now: number): void {
		const answerMs = now - sentAt;
		if (this.quickestAnswerMs === 0 || answerMs < this.quickestAnswerMs) {
			this.quickestAnswerMs = answerMs;
		}
	}

	/** A request sent at `sentAt` was refused. */
	refusedAt(sentAt: number): void {
		this.refused.push(sentAt);
	}

	/** No one wanted to send from `from` to `to`: that time says nothing of what the server takes. */
	idle(from: number, to: number): void {
		if (to > from) this.idleSpans.push([from, to]);
	}

	/**
	 * Requests per second the server took over the last window (sent less refused; those still in
	 * flight are mostly taken), over the time someone wanted to send. Early in the first window the
	 * count may be a start-up burst or a steady rate: `lower` reads it over the whole window,
	 * `upper` over the time since the first request. Too few requests say nothing (undefined).
	 */
	takenRate(now: number): TakenRate | undefined {
		this.forget(now);
		if (this.sent.size < LAW.minSamples) return undefined;
		const taken = Math.max(0, this.sent.size - this.refused.size);
		const busy = Math.max(1, LAW.windowMs - this.idleInWindow(now));
		const young = Math.max(1, Math.min(busy, now - (this.firstSentAt ?? now)));
		const [lower, upper] = [(taken * 1000) / busy, (taken * 1000) / young];
		const share = young / busy;
		const after = this.burstSentAt;
		const paced = this.sent.countAfter(after) - this.refused.countAfter(after);
		const afterBurst = paced >= LAW.minSamples ? (paced * 1000) / young : undefined;
		return { lower, upper, weighed: lower ** share * upper ** (1 - share), afterBurst };
	}

	/** Requests per second sent over the last quarter window (the time since the first, early on). */
	sentRate(now: number): number {
		const span = Math.max(1, Math.min(LAW.windowMs / 4, now - (this.firstSentAt ?? now)));
		return (this.sent.countAfter(now - span) * 1000) / span;
	}

	/** When the trailing `windowMs` (at most a window) will hold fewer than `capacity` requests taken. */
	roomAt(now: number, windowMs: number, capacity: number): number {
		this.forget(now);
		const from = now - windowMs;
		const taken = this.sent.countAfter(from) - this.refused.countAfter(from);
		if (taken < capacity) return Number.NEGATIVE_INFINITY;
		return (this.sent.oldestAfter(from) ?? now) + windowMs + this.quickestAnswerMs;
	}

	/** Between runs: only the last window's times are kept, in memory of their own size. */
	compact(now: number): void {
		this.forget(now);
		this.sent.compact();
		this.refused.compact();
	}

	private idleInWindow(now: number): number {
		const from = now - LAW.windowMs;
		while (this.idleSpans.length > 0 && this.idleSpans[0][1] <= from) this.idleSpans.shift();
		let idle = 0;
		for (const [start, end] of this.idleSpans)
			idle += Math.max(0, Math.min(end, now) - Math.max(start, from));
		return idle;
	}

	private forget(now: number): void {
		this.sent.dropThrough(now - LAW.windowMs);
		this.refused.dropThrough(now - LAW.windowMs);
	}
}
