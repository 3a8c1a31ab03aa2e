import { sleep } from 'n8n-workflow';

/** Longest single sleep of a wait, so that a cancel ends any wait this soon and no timer outlives it. */
const WAIT_SLICE_MS = 50;

/** Waits `ms`, ending early once `signal` aborts. */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
	const until = Date.now() + ms;
	for (let left = ms; left > 0 && signal?.aborted !== true; left = until - Date.now()) {
		await sleep(Math.min(left, WAIT_SLICE_MS));
	}
}

export interface PacerClock {
	now(): number;
	wait(ms: number, signal?: AbortSignal): Promise<void>;
}

const realClock: PacerClock = { now: () => Date.now(), wait: pause };

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
	private pausedUntilAt = 0;
	private ratePerSecond = Number.POSITIVE_INFINITY;
	private nextSlotAt = 0;
	private lastLimitedAt = Number.NEGATIVE_INFINITY;
	private lastRampAt = 0;
	/** When recent successful requests were sent, in the order they came back, from `recentHead` on. */
	private readonly recentSuccesses: number[] = [];
	private recentHead = 0;
	/** Measured again once the pause is over and the requests in flight have come back. */
	private measuring: Measurement | undefined;

	constructor(private readonly clock: PacerClock = realClock) {}

	private now(): number {
		return this.clock.now();
	}

	/** Until when every request waits (epoch ms). */
	get pausedUntil(): number {
		return this.pausedUntilAt;
	}

	/** The current pace in requests per second; Infinity until the first measurable 429. */
	get rate(): number {
		return this.ratePerSecond;
	}

	/** Waits until a request may be sent; returns the time it was let through. */
	async waitForTurn(signal?: AbortSignal): Promise<number | undefined> {
		if (signal?.aborted) return undefined;
		const now = this.now();
		if (this.measuring && now >= this.pausedUntilAt) {
			this.paceByAdmittedRate(this.measuring);
			this.measuring = undefined;
		}
		this.ramp(now);
		// A slot nobody was ready for may be used a little late, so timer delays cost no throughput.
		const slot = Math.max(now - CATCH_UP_MS, this.pausedUntilAt, this.nextSlotAt);
		if (Number.isFinite(this.ratePerSecond)) this.nextSlotAt = slot + 1000 / this.ratePerSecond;
		if (slot <= now) return now;
		await this.clock.wait(slot - now, signal);
		return signal?.aborted ? undefined : this.now();
	}

	/** A request let through at `sentAt` (what waitForTurn returned) succeeded. */
	onSuccess(sentAt: number, headers?: Readonly<Record<string, unknown>>): void {
		void headers;
		this.recentSuccesses.push(sentAt);
		this.forgetBefore(
			Math.min(this.now(), this.measuring?.from ?? Number.POSITIVE_INFINITY) - WINDOW_MS,
		);
	}

	/** A 429 for a request let through at `sentAt`: pause everyone, and slow down once. */
	onRateLimited(
		sentAt: number,
		retryAfterMs: number | undefined,
		headers?: Readonly<Record<string, unknown>>,
	): void {
		void headers;
		const now = this.now();
		retryAfterMs ??= 1000;
		this.pausedUntilAt = Math.max(this.pausedUntilAt, now + retryAfterMs);
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

const pacersByAccount = new Map<string, { pacer: Pacer; users: number }>();

/** The one Pacer of a Twin24 account in this process; the last release forgets it. */
export function acquirePacer(
	accountKey: string,
	clock?: PacerClock,
): { pacer: Pacer; release(): void } {
	const entry = pacersByAccount.get(accountKey) ?? { pacer: new Pacer(clock), users: 0 };
	entry.users++;
	pacersByAccount.set(accountKey, entry);
	let released = false;
	return {
		pacer: entry.pacer,
		release() {
			if (released) return;
			released = true;
			if (--entry.users === 0) pacersByAccount.delete(accountKey);
		},
	};
}
