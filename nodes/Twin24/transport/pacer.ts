import { sleep } from 'n8n-workflow';

/** Share of the rate the server admitted in the second before a 429 that the run keeps to. */
const SHARE_OF_ADMITTED_RATE = 0.98;
/** A 429 while already paced means the measure was too generous: at least this much slower. */
const SLOWDOWN_WHEN_LIMITED_AGAIN = 0.9;
/** With fewer successes than this in the last second there is nothing to measure: pause only. */
const MIN_MEASURABLE_SUCCESSES = 5;
/** After this long without a 429 the pace grows again, in case the limit was a passing one. */
const QUIET_BEFORE_RAMP_MS = 20000;
const RAMP_PER_SECOND = 1.01;
const WINDOW_MS = 1000;
/** How far behind its schedule the pace may send, to make up for timers that fire late. */
const CATCH_UP_MS = 10;

/** The second before a 429, whose admitted requests set the pace, and the pace before it. */
interface Measurement {
	from: number;
	to: number;
	paceBefore: number;
}

/**
 * One pace for all requests of a run. Until the first 429 it holds nothing back. A 429 pauses
 * every worker until its Retry-After has passed, then the run sends at just under what the
 * server admitted in the second before the limited request was sent (counted once the requests
 * in flight have come back), so it stays close to the limit without meeting it again; a 429 met
 * while already paced slows it by at least a tenth more. After a quiet spell the pace ramps back
 * up. 429s answering requests that were already in flight when the run slowed down are one
 * event, not many.
 */
export class Pacer {
	private pausedUntil = 0;
	private ratePerSecond = Number.POSITIVE_INFINITY;
	private nextSlotAt = 0;
	private lastLimitedAt = Number.NEGATIVE_INFINITY;
	private lastRampAt = 0;
	/** When recent successful requests were sent, in the order they came back, from `recentHead` on. */
	private readonly recentSuccesses: number[] = [];
	private recentHead = 0;
	/** Measured again once the pause is over and the requests in flight have come back. */
	private measuring: Measurement | undefined;

	constructor(private readonly now: () => number = Date.now) {}

	/** The current pace in requests per second; Infinity until the first measurable 429. */
	get rate(): number {
		return this.ratePerSecond;
	}

	/** Waits until a request may be sent; returns the time it was let through. */
	async waitForTurn(): Promise<number> {
		const now = this.now();
		if (this.measuring && now >= this.pausedUntil) {
			this.paceByAdmittedRate(this.measuring);
			this.measuring = undefined;
		}
		this.ramp(now);
		// A slot nobody was ready for may be used a little late, so timer delays cost no throughput.
		const slot = Math.max(now - CATCH_UP_MS, this.pausedUntil, this.nextSlotAt);
		if (Number.isFinite(this.ratePerSecond)) this.nextSlotAt = slot + 1000 / this.ratePerSecond;
		if (slot <= now) return now;
		await sleep(slot - now);
		return this.now();
	}

	/** A request let through at `sentAt` (what waitForTurn returned) succeeded. */
	onSuccess(sentAt: number): void {
		this.recentSuccesses.push(sentAt);
		this.forgetBefore(
			Math.min(this.now(), this.measuring?.from ?? Number.POSITIVE_INFINITY) - WINDOW_MS,
		);
	}

	/** A 429 for a request let through at `sentAt`: pause everyone, and slow down once. */
	onRateLimited(retryAfterMs: number, sentAt: number): void {
		const now = this.now();
		this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
		if (sentAt < this.lastLimitedAt) return;
		this.lastLimitedAt = now;
		this.lastRampAt = now;
		this.measuring = { from: sentAt - WINDOW_MS, to: sentAt, paceBefore: this.ratePerSecond };
		// A first estimate from what has come back so far spaces out the workers that resume
		// together when the pause ends; it is refined once the requests in flight are back.
		this.paceByAdmittedRate(this.measuring);
	}

	private paceByAdmittedRate(measurement: Measurement): void {
		let admitted = 0;
		for (let index = this.recentHead; index < this.recentSuccesses.length; index++) {
			const sentAt = this.recentSuccesses[index];
			if (sentAt >= measurement.from && sentAt < measurement.to) admitted++;
		}
		// Already paced and limited again: the server allows bursts the measure took for its rate.
		const slowerThanBefore = measurement.paceBefore * SLOWDOWN_WHEN_LIMITED_AGAIN;
		if (admitted >= MIN_MEASURABLE_SUCCESSES) {
			this.ratePerSecond = Math.min(
				admitted * (1000 / WINDOW_MS) * SHARE_OF_ADMITTED_RATE,
				slowerThanBefore,
			);
		} else if (Number.isFinite(slowerThanBefore)) {
			this.ratePerSecond = slowerThanBefore;
		}
	}

	private ramp(now: number): void {
		if (!Number.isFinite(this.ratePerSecond)) return;
		const rampFrom = Math.max(this.lastRampAt, this.lastLimitedAt + QUIET_BEFORE_RAMP_MS);
		if (now - rampFrom < 1000) return;
		this.ratePerSecond *= RAMP_PER_SECOND ** ((now - rampFrom) / 1000);
		this.lastRampAt = now;
	}

	/** Drops what lies before `time`; successes come back roughly in the order they were sent. */
	private forgetBefore(time: number): void {
		const times = this.recentSuccesses;
		while (this.recentHead < times.length && times[this.recentHead] < time) this.recentHead++;
		if (this.recentHead > 1024 && this.recentHead * 2 > times.length) {
			times.splice(0, this.recentHead);
			this.recentHead = 0;
		}
	}
}
