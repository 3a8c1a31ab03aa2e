/**
 * What the account sent in the last window, and what the server took of it: the measurements
 * the estimator's law runs on (the rate taken, the rate sent, the room a window has left).
 */
import { PACE_TUNING as LAW } from './tuning';

/** Drops the times at or before `from` from the front of times noted in order. */
function dropThrough(times: number[], from: number): void {
	const kept = times.findIndex((at) => at > from);
	times.splice(0, kept < 0 ? times.length : kept);
}

/** How many of the newest times are after `from`. */
function countAfter(times: readonly number[], from: number): number {
	let count = 0;
	for (let index = times.length - 1; index >= 0 && times[index] > from; index--) count++;
	return count;
}

/**
 * A rate read over the whole window (`lower`) and over the part of it since the first request
 * (`upper`), and the two `weighed` by that part's share of the window: early in a run a count may
 * be a burst or a steady rate, and the longer it was counted the more `lower` says.
 */
export interface TakenRate {
	lower: number;
	upper: number;
	weighed: number;
}

export class SendRecord {
	private firstSentAt: number | undefined;
	/** When the last request of the start's burst was sent (see PACE_TUNING.startBurst). */
	private burstSentAt = Number.NEGATIVE_INFINITY;
	/**
	 * The quickest answer yet, sent to taken: a request reaches the server's window up to this
	 * long after it was sent, so it leaves the window up to this long after our record says.
	 */
	private quickestAnswerMs = Number.POSITIVE_INFINITY;
	/** Send times of the requests of the last window, and of those refused among them. */
	private readonly sent: number[] = [];
	private readonly refused: number[] = [];
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
		this.quickestAnswerMs = Math.min(this.quickestAnswerMs, now - sentAt);
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
	 * flight are mostly taken), over the time someone wanted to send; too few say nothing.
	 */
	takenRate(now: number): TakenRate | undefined {
		this.forget(now);
		if (this.sent.length < LAW.minSamples) return undefined;
		const taken = Math.max(0, this.sent.length - this.refused.length);
		const busy = Math.max(1, LAW.windowMs - this.idleInWindow(now));
		const young = Math.max(1, Math.min(busy, now - (this.firstSentAt ?? now)));
		const [lower, upper] = [(taken * 1000) / busy, (taken * 1000) / young];
		const share = young / busy;
		return { lower, upper, weighed: lower ** share * upper ** (1 - share) };
	}

	/**
	 * Early in a run, the rate taken from the end of the start's burst (requests sent at once are no
	 * rate, however long n8n takes to send them) to a refused request sent at `refusedSentAt`, which
	 * found the window between full and one short: it counts half. Undefined when too few.
	 */
	rateAfterBurst(refusedSentAt: number): number | undefined {
		const from = Math.max(this.burstSentAt, this.firstSentAt ?? refusedSentAt);
		const between = (times: number[]) => times.filter((at) => at > from && at < refusedSentAt);
		const taken = between(this.sent).length - between(this.refused).length;
		if (taken < LAW.minSamples) return undefined;
		return ((taken + 0.5) * 1000) / Math.max(1, refusedSentAt - from);
	}

	/** Requests per second sent over the last quarter window (the time since the first, early on). */
	sentRate(now: number): number {
		const span = Math.max(1, Math.min(LAW.windowMs / 4, now - (this.firstSentAt ?? now)));
		return (countAfter(this.sent, now - span) * 1000) / span;
	}

	/** When the trailing `windowMs` (a window at most) holds fewer than `capacity` taken requests. */
	roomAt(now: number, windowMs: number, capacity: number): number {
		this.forget(now);
		const from = now - windowMs;
		const taken = countAfter(this.sent, from) - countAfter(this.refused, from);
		if (taken < capacity) return Number.NEGATIVE_INFINITY;
		const answerMs = Number.isFinite(this.quickestAnswerMs) ? this.quickestAnswerMs : 0;
		return (this.sent.find((at) => at > from) ?? now) + windowMs + answerMs;
	}

	private idleInWindow(now: number): number {
		const from = now - LAW.windowMs;
		while (this.idleSpans.length > 0 && this.idleSpans[0][1] <= from) this.idleSpans.shift();
		let idle = 0;
		for (const [start, end] of this.idleSpans)
			idle += Math.max(0, Math.min(end, now) - Math.max(start, from));
		return idle;
	}

	/** Keeps only the last window's times (between runs too). */
	forget(now: number): void {
		dropThrough(this.sent, now - LAW.windowMs);
		dropThrough(this.refused, now - LAW.windowMs);
	}
}
