import { sleep } from 'n8n-workflow';

/** Share of the measured throughput the pacer keeps to after a 429. */
const RATE_AFTER_LIMIT = 0.95;
/** Growth of the paced rate per second without a 429, so that a run recovers after a slowdown. */
const RAMP_PER_SECOND = 1.02;
/** How long a run must go without a 429 before the pace ramps back up. */
const QUIET_BEFORE_RAMP_MS = 5000;
const WINDOW_MS = 1000;
const MIN_MEASURED_RATE = 5;

/**
 * One pace for all requests of a run. Without a 429 it does not hold anything back. A 429
 * pauses every worker until the server's Retry-After has passed, then sends at a little less
 * than the throughput measured just before it, ramping back up while no 429 comes. 429s
 * answering requests that were already in flight when the run slowed down count as one.
 */
export class Pacer {
	private pausedUntil = 0;
	private ratePerSecond = Number.POSITIVE_INFINITY;
	private nextSlotAt = 0;
	private lastLimitedAt = Number.NEGATIVE_INFINITY;
	private lastRampAt = 0;
	private readonly recentSuccesses: number[] = [];
	private recentHead = 0;

	constructor(private readonly now: () => number = Date.now) {}

	/** Waits until this request may be sent and returns the time it was let through. */
	async waitForTurn(): Promise<number> {
		let now = this.now();
		this.ramp(now);
		const slot = Math.max(now, this.pausedUntil, this.nextSlotAt);
		if (Number.isFinite(this.ratePerSecond)) this.nextSlotAt = slot + 1000 / this.ratePerSecond;
		if (slot > now) {
			await sleep(slot - now);
			now = this.now();
		}
		return now;
	}

	onSuccess(): void {
		const now = this.now();
		this.recentSuccesses.push(now);
		this.forgetBefore(now - WINDOW_MS);
	}

	/** Slows the whole run down; `sentAt` is what waitForTurn returned for the limited request. */
	onRateLimited(retryAfterMs: number, sentAt: number): void {
		const now = this.now();
		this.pausedUntil = Math.max(this.pausedUntil, now + retryAfterMs);
		if (sentAt < this.lastLimitedAt) return;
		this.forgetBefore(now - WINDOW_MS);
		const measured = (this.recentSuccesses.length - this.recentHead) * (1000 / WINDOW_MS);
		// Too few successes to measure (e.g. the very first requests were limited): pause only.
		const slower =
			measured >= MIN_MEASURED_RATE ? measured * RATE_AFTER_LIMIT : Number.POSITIVE_INFINITY;
		this.ratePerSecond = Math.min(this.ratePerSecond * RATE_AFTER_LIMIT, slower);
		this.lastLimitedAt = now;
		this.lastRampAt = now;
	}

	/** The current pace in requests per second; Infinity until the first 429. */
	get rate(): number {
		return this.ratePerSecond;
	}

	private ramp(now: number): void {
		if (!Number.isFinite(this.ratePerSecond)) return;
		if (now - this.lastLimitedAt < QUIET_BEFORE_RAMP_MS || now - this.lastRampAt < 1000) return;
		this.ratePerSecond *= RAMP_PER_SECOND ** ((now - this.lastRampAt) / 1000);
		this.lastRampAt = now;
	}

	private forgetBefore(time: number): void {
		while (
			this.recentHead < this.recentSuccesses.length &&
			this.recentSuccesses[this.recentHead] < time
		) {
			this.recentHead++;
		}
		if (this.recentHead > 1024 && this.recentHead * 2 > this.recentSuccesses.length) {
			this.recentSuccesses.splice(0, this.recentHead);
			this.recentHead = 0;
		}
	}
}
