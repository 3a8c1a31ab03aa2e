/**
 * The two limits a server can have besides a rate, each learned from answers: a quota it
 * announces (rate-limit headers), and a cap on requests in flight it does not announce.
 */
import type { Quota } from './signals';
import { PACE_TUNING } from './tuning';

/** One request let through: its place in the order, when, and how many were in flight with it. */
export interface Ticket {
	readonly seq: number;
	readonly sentAt: number;
	/** Requests in flight once this one was sent, itself included. */
	readonly inFlight: number;
}

/**
 * What the server announced of its quota. `remaining` counts as of the request `asOfSeq`; the
 * requests let through after it have used some of it already.
 */
export class AnnouncedQuota {
	/** The quota and the window the server stated, if it did. */
	stated: { limit: number; windowMs: number } | undefined;
	private remaining: number | undefined;
	private asOfSeq = -1;
	private resetAt = Number.NEGATIVE_INFINITY;

	/** Requests per second the server stated, if it did. */
	get rate(): number {
		const { stated } = this;
		if (stated === undefined) return Number.POSITIVE_INFINITY;
		return (stated.limit * 1000) / stated.windowMs;
	}

	/** Takes the newest announcement; true when it states a rate for the first time. */
	note({ seq }: Ticket, { limit, remaining, resetMs, windowMs }: Quota, now: number): boolean {
		const firstRate = this.stated === undefined;
		if (limit !== undefined && windowMs !== undefined && limit > 0)
			this.stated = { limit, windowMs };
		if (remaining !== undefined && seq > this.asOfSeq) {
			// More left than the requests sent since the last count leave: a new window began.
			const newWindow =
				this.remaining === undefined || remaining > this.remaining - (seq - this.asOfSeq);
			this.remaining = remaining;
			this.asOfSeq = seq;
			if (resetMs !== undefined) {
				this.resetAt = newWindow ? now + resetMs : Math.min(this.resetAt, now + resetMs);
			}
		}
		return firstRate && this.stated !== undefined;
	}

	/** Whether a refusal is the quota's: the server says none is left and when it resets. */
	explains(quota: Quota): boolean {
		return quota.remaining === 0 && quota.resetMs !== undefined;
	}

	/**
	 * When the next request may go by the remaining quota: at once while it has room, else at its
	 * reset. A reset given in whole seconds is read from every answer and the earliest it allows is
	 * kept, so that rounding up does not cost a second per window.
	 */
	nextAt(nextSeq: number): number {
		if (this.remaining === undefined) return Number.NEGATIVE_INFINITY;
		const left = this.remaining - (nextSeq - 1 - this.asOfSeq);
		return left > 0 ? Number.NEGATIVE_INFINITY : this.resetAt;
	}
}

/** The answers counted at the numbers in flight `from` up to `to` (excluded, or all above). */
function sum(counts: readonly number[], from: number, to?: number): number {
	return counts.slice(from, to).reduce((total, count) => total + count, 0);
}

/**
 * A cap on requests in flight: the server refuses as concurrency grows, not as the rate grows.
 * A refusal is the cap's when, at its number in flight and above, the server mostly refused, and
 * below it almost never did. The cap is then one below; held for a while without a refusal it is
 * tried one higher (see capProbeMs).
 */
export class InFlightCap {
	/** Requests in flight the pace allows now: the cap that held, or one more while probing. */
	limit = Number.POSITIVE_INFINITY;
	/** The cap found: the most in flight the server took without refusing. */
	private held = Number.POSITIVE_INFINITY;
	/** Answers taken and refused at each number in flight, indexed by it (sparse). */
	private readonly takenAt: number[] = [];
	private readonly refusedAt: number[] = [];
	private probeMs: number = PACE_TUNING.capProbeMs;
	private heldSince = Number.NEGATIVE_INFINITY;

	taken(ticket: Ticket): void {
		this.takenAt[ticket.inFlight] = (this.takenAt[ticket.inFlight] ?? 0) + 1;
		// A probe one higher was taken: that is the cap now.
		if (ticket.inFlight > this.held && ticket.inFlight <= this.limit) this.held = this.limit;
	}

	/**
	 * Whether the cap may explain a refusal once the requests sent before it have answered: none
	 * is known yet, and nothing was ever taken with as many in flight (`takenAt` ends past the most).
	 */
	mayExplain(ticket: Ticket): boolean {
		return this.held === Number.POSITIVE_INFINITY && ticket.inFlight >= this.takenAt.length;
	}

	/** Counts the refusal; true when the cap explains it (the rate then was not too high). */
	refused(ticket: Ticket, now: number): boolean {
		this.refusedAt[ticket.inFlight] = (this.refusedAt[ticket.inFlight] ?? 0) + 1;
		const known = this.held !== Number.POSITIVE_INFINITY;
		if (known ? ticket.inFlight <= this.held : !this.explains(ticket.inFlight)) return false;
		// A probe refused: back to the cap that held, and the next probe twice as late.
		if (known) this.probeMs *= 2;
		this.held = known ? this.held : ticket.inFlight - 1;
		this.limit = this.held;
		this.heldSince = now;
		return true;
	}

	/** The cap now: one higher once it held for the probe's time, to find a cap that rose. */
	current(now: number): number {
		if (this.limit === this.held && now - this.heldSince >= this.probeMs) {
			this.limit = this.held + 1;
			this.heldSince = now;
		}
		return this.limit;
	}

	/** Whether the answers counted say a cap at `inFlight`, as the class says, not a rate. */
	private explains(inFlight: number): boolean {
		const takenBelow = sum(this.takenAt, 1, inFlight);
		const refusedBelow = sum(this.refusedAt, 1, inFlight);
		const rarelyBelow = refusedBelow <= PACE_TUNING.capRefusedBelow * (takenBelow + refusedBelow);
		const mostlyAbove = sum(this.refusedAt, inFlight) > sum(this.takenAt, inFlight);
		return takenBelow > 0 && rarelyBelow && mostlyAbove;
	}
}
