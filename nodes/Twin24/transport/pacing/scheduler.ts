/**
 * The scheduler: who sends next, and when. Requests wait in the order they asked; each is let
 * through once the rate, a pause, a sliding window's room, an announced quota and the cap on
 * requests in flight all allow it (the estimator says what they are), or as soon as the run ends.
 */
import { sleep } from 'n8n-workflow';

import { RateEstimator } from './estimator';
import type { Ticket } from './limits';
import type { Signal } from './signals';
import { PACE_TUNING } from './tuning';

export type { Ticket } from './limits';

/** Longest single sleep of `pause`: the most a timer can outlive an aborted wait. */
const PAUSE_SLICE_MS = 50;
/** How far behind schedule a turn may go: a timer that fires late must not lower the rate. */
const CATCH_UP_MS = 10;
/** Gaps shorter than this between turns are a busy process's jitter, not a pace left unused. */
const IDLE_GAP_MS = 100;

/**
 * Waits ms in slices, so that no timer outlives an aborted wait by more than one. It only looks at
 * `signal`, never listens to it, so that any number of waits may share one (a run's).
 */
export async function pause(ms: number, signal?: AbortSignal): Promise<void> {
	const until = Date.now() + ms;
	for (let left = ms; left > 0 && signal?.aborted !== true; left = until - Date.now()) {
		await sleep(Math.min(left, PAUSE_SLICE_MS));
	}
}

/** The dispatcher's wait: its own signal, listened to, ends it at once (an answer freed room). */
async function wakeableWait(ms: number, signal?: AbortSignal): Promise<void> {
	const woken = new Promise<void>((resolve) => {
		signal?.addEventListener('abort', () => resolve(), { once: true });
	});
	await Promise.race([pause(ms, signal), woken]);
}

export interface PaceClock {
	now(): number;
	wait(ms: number, signal?: AbortSignal): Promise<void>;
}

export const systemClock: PaceClock = { now: () => Date.now(), wait: wakeableWait };

/** What a waiting request gets: a ticket, word of a pause too long, or nothing (cancelled). */
export type Turn =
	| { kind: 'go'; ticket: Ticket }
	/** The server takes nothing until `until`, later than the request may wait. */
	| { kind: 'paused'; until: number; statusCode: number }
	| { kind: 'cancelled' };

interface Waiter {
	resolve(turn: Turn): void;
	signal?: AbortSignal;
	maxWaitMs: number;
	onAbort(): void;
}

const CANCELLED: Turn = { kind: 'cancelled' };

/** The pace of one account: one scheduler, shared by every run that uses the account. */
export class Scheduler {
	private readonly estimator = new RateEstimator();
	private readonly waiters: Waiter[] = [];
	/** Tickets given and not answered yet. */
	private readonly open = new Set<number>();
	private nextAt = Number.NEGATIVE_INFINITY;
	private lastGivenAt: number | undefined;
	/** The dispatcher's wait, set while it runs (it yields only there): aborted, it wakes early. */
	private wake: AbortController | undefined;
	/** Requests each user of this pace still has to send, as far as it told. */
	private readonly backlogs = new Map<object, number>();

	constructor(private readonly clock: PaceClock = systemClock) {}

	/** Requests per second the account may send now. */
	get rate(): number {
		return this.estimator.rate;
	}

	/** Until when the server takes nothing (0 when it does). */
	get pausedUntil(): number {
		const { until } = this.estimator.pause;
		return until > this.clock.now() ? until : 0;
	}

	/** A turn, in order: cancelled once `signal` aborts; told at once of a pause over `maxWaitMs`. */
	async turn(signal?: AbortSignal, maxWaitMs = Number.POSITIVE_INFINITY): Promise<Turn> {
		if (signal?.aborted === true) return CANCELLED;
		const now = this.clock.now();
		const tooLong = this.pausedTooLong(now, maxWaitMs);
		if (tooLong !== undefined) return tooLong;
		if (this.waiters.length === 0) this.noteIdle(now);
		return await new Promise<Turn>((resolve) => {
			const waiter: Waiter = { resolve, signal, maxWaitMs, onAbort: () => this.drop(waiter) };
			signal?.addEventListener('abort', waiter.onAbort, { once: true });
			this.waiters.push(waiter);
			void this.dispatch();
		});
	}

	/** What came back for a ticket: each ticket given is answered once (`silent` if nothing came). */
	answered(ticket: Ticket, signal: Signal): void {
		if (!this.open.delete(ticket.seq)) return;
		// Tickets are added in order, so the first one left is the oldest still in flight.
		const oldestOpen = this.open.values().next().value ?? Number.POSITIVE_INFINITY;
		this.estimator.answered(ticket, signal, this.clock.now(), oldestOpen);
		this.wake?.abort(); // the answer may have freed room
	}

	/** How many requests `user` still has to send; undefined when it is done with the pace. */
	setBacklog(user: object, requests: number | undefined): void {
		if (requests === undefined) this.backlogs.delete(user);
		else this.backlogs.set(user, requests);
	}

	/** No one uses the pace now, but it may be taken up again: what it learned stays. */
	rest(): void {
		this.estimator.rest(this.clock.now());
	}

	/** How long no one has used the pace; undefined while it is in use. */
	get restedMs(): number | undefined {
		const since = this.estimator.restingSince;
		return since === undefined ? undefined : this.clock.now() - since;
	}

	/** Taken up again (if it rested): it goes on from where it was. */
	resume(): void {
		this.estimator.resume(this.clock.now());
	}

	/**
	 * When the next turn may be given; never while the cap on requests in flight is reached. The
	 * start's burst goes at once, but not past a pause, a window or a quota.
	 */
	private turnAt(now: number): number {
		this.estimator.grow(now, this.backlog());
		if (this.open.size >= this.estimator.cap.current(now)) return Number.POSITIVE_INFINITY;
		const seq = this.estimator.lastSeq + 1;
		return Math.max(
			now - CATCH_UP_MS,
			this.estimator.inStartBurst(seq) ? Number.NEGATIVE_INFINITY : this.nextAt,
			this.estimator.pause.until,
			this.estimator.roomAt(seq, now),
		);
	}

	/** Lets the waiters through one by one; runs only while someone waits, and once (see wake). */
	private async dispatch(): Promise<void> {
		if (this.wake !== undefined) return;
		while (this.waiters.length > 0) {
			const now = this.clock.now();
			this.tellPausedTooLong(now);
			if (this.waiters.length === 0) break;
			const at = this.turnAt(now);
			if (at > now) {
				this.wake = new AbortController();
				const waitMs = Number.isFinite(at) ? at - now : PACE_TUNING.windowMs;
				await this.clock.wait(waitMs, this.wake.signal);
				this.wake = undefined;
				continue;
			}
			this.leave(this.waiters[0], { kind: 'go', ticket: this.take(now) });
		}
	}

	private pausedTooLong(now: number, maxWaitMs: number): Turn | undefined {
		const { until, statusCode } = this.estimator.pause;
		return until - now > maxWaitMs ? { kind: 'paused', until, statusCode } : undefined;
	}

	/** Tells the waiters that may not wait as long as the server's pause, and lets them go. */
	private tellPausedTooLong(now: number): void {
		for (const waiter of [...this.waiters]) {
			const tooLong = this.pausedTooLong(now, waiter.maxWaitMs);
			if (tooLong !== undefined) this.leave(waiter, tooLong);
		}
	}

	/** A waiter's wait ends with `turn`. */
	private leave(waiter: Waiter, turn: Turn): void {
		this.waiters.splice(this.waiters.indexOf(waiter), 1);
		waiter.signal?.removeEventListener('abort', waiter.onAbort);
		waiter.resolve(turn);
	}

	private take(now: number): Ticket {
		const seq = this.estimator.lastSeq + 1;
		if (!this.estimator.inStartBurst(seq))
			this.nextAt = Math.max(now - CATCH_UP_MS, this.nextAt) + 1000 / this.estimator.rate;
		this.open.add(seq);
		const ticket = { seq, sentAt: now, inFlight: this.open.size };
		this.estimator.noteSent(ticket);
		this.lastGivenAt = now;
		return ticket;
	}

	/** A turn asked with no one waiting, long after the last: no one wanted to send meanwhile. */
	private noteIdle(now: number): void {
		if (this.lastGivenAt === undefined) return;
		const dueAt = Math.max(this.lastGivenAt + 1000 / this.estimator.rate, this.nextAt);
		if (now - dueAt >= IDLE_GAP_MS) this.estimator.record.idle(dueAt, now);
	}

	/** Its signal aborted while it waited (a waiter that leaves stops listening). */
	private drop(waiter: Waiter): void {
		this.leave(waiter, CANCELLED);
		if (this.waiters.length === 0) this.wake?.abort();
	}

	/** Requests all users still have to send; unbounded while none has said. */
	private backlog(): number {
		const told = [...this.backlogs.values()];
		return told.length === 0 ? Number.POSITIVE_INFINITY : told.reduce((sum, left) => sum + left);
	}
}
