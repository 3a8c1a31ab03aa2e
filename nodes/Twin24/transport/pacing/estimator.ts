/**
 * The rate estimator: what the server's answers say about how fast the account may send. It runs
 * the control law of tuning.ts on the signals of signals.ts; the scheduler asks it for the rate,
 * the pause, and the room a sliding window has left.
 */
import type { Ticket } from './limits';
import { AnnouncedQuota, InFlightCap } from './limits';
import { SendRecord } from './record';
import type { Signal } from './signals';
import { PACE_TUNING as LAW } from './tuning';

type Refused = Extract<Signal, { kind: 'refused' }>;

export class RateEstimator {
	/** Requests per second the account may send now. */
	rate: number = LAW.startRate;
	/** Until when nothing may be sent (the server takes nothing now), and the status that said so. */
	pause = { until: 0, statusCode: 429 };
	readonly quota = new AnnouncedQuota();
	readonly cap = new InFlightCap();
	/** Since when no one uses the pace; undefined while it is in use. */
	restingSince: number | undefined;
	/** The last request let through (0: none yet). */
	lastSeq = 0;
	private phase: 'start' | 'probe' = 'start';
	/** Just below the rate the server last refused at: beyond it, a probe costs a refusal. */
	private belowRefused = Number.POSITIVE_INFINITY;
	/** The last request let through when the rate was last cut (0: never cut). */
	private cutSeq = 0;
	private cutAt = Number.NEGATIVE_INFINITY;
	private cutsInWindow = 0;
	/** Where the probe's time counts from: the cut, moved on while the rate could not be used. */
	private probeFrom = Number.NEGATIVE_INFINITY;
	private grownAt: number | undefined;
	/** Requests sent after the last cut that the server took. */
	private takenSinceCut = 0;
	/** Whether the last cut read a whole window: only then is its count the window's (see roomAt). */
	private measuredWholeWindow = false;
	private closedPauses = 0;
	readonly record = new SendRecord();
	/** Refusals waiting for the requests sent before them to answer (see answered). */
	private readonly pending: Array<{ ticket: Ticket; signal: Refused }> = [];

	/** Whether the request `seq` goes at once with the start's burst. */
	inStartBurst(seq: number): boolean {
		return this.phase === 'start' && seq <= LAW.startBurst;
	}

	noteSent(ticket: Ticket): void {
		this.lastSeq = ticket.seq;
		this.record.sentAt(ticket.sentAt, this.inStartBurst(ticket.seq));
	}

	/**
	 * Learns from one answer. `oldestOpen`: the first request in flight. A refusal is judged once the
	 * requests sent before it answered: only then does it tell a cap (they were taken) from a rate.
	 */
	answered(ticket: Ticket, signal: Signal, now: number, oldestOpen: number): void {
		if (signal.kind !== 'silent') {
			if (this.quota.note(ticket, signal.quota, now)) this.takeAnnouncedRate(now);
			if (signal.kind === 'taken') this.taken(ticket, now);
			else this.pending.push({ ticket, signal });
		}
		while (this.pending.length > 0) {
			const next = this.pending[0];
			if (this.cap.mayExplain(next.ticket) && next.ticket.seq > oldestOpen) return;
			this.pending.shift();
			this.judgeRefusal(next.ticket, next.signal, now);
		}
	}

	private judgeRefusal(ticket: Ticket, signal: Refused, now: number): void {
		this.record.refusedAt(ticket.sentAt);
		if (this.cap.refused(ticket, now) || this.quota.explains(signal.quota)) return;
		// Refusals of requests sent before the last cut echo the overshoot that cut answered.
		if (ticket.seq <= this.cutSeq) return;
		const closed = this.cutSeq > 0 && this.takenSinceCut === 0;
		this.cut(now, ticket.sentAt, closed);
		if (closed) this.pauseClosed(now, signal);
		else this.closedPauses = 0;
	}

	/** Grows the rate up to `now` by the law; `backlog`: requests every user still has to send. */
	grow(now: number, backlog: number): void {
		const from = this.grownAt ?? now;
		this.grownAt = now;
		this.noteTakenAbove(now);
		// The most the rate may grow to. Below the start rate, what was sent lately holds nothing
		// back: a start is that fast.
		const used = Math.max(LAW.startRate, LAW.headroom * this.record.sentRate(now));
		const ceiling = Math.min(this.quota.rate, used, this.refusedCeiling(backlog));
		if (this.rate >= ceiling) {
			this.rate = Math.max(LAW.lowestRate, Math.min(this.rate, this.refusedCeiling(backlog)));
			// Held back (too few items, a busy process): the probe waits too.
			this.probeFrom += now - from;
			return;
		}
		if (now <= from) return;
		// The probe waits until the refusal it may cost is a small share of what was taken.
		if (this.phase === 'probe' && this.takenSinceCut * LAW.refusalShare < 1) {
			this.probeFrom += now - from;
			return;
		}
		const grown =
			this.phase === 'start'
				? this.rate * 2 ** ((now - from) / LAW.startDoublingMs)
				: this.rate + this.probeStep(from - this.probeFrom, now - this.probeFrom);
		this.rate = Math.min(grown, ceiling);
	}

	/**
	 * When the next request may go for a window's sake. After a cut measured over a whole window, no
	 * window holds more taken requests than the rate: what went faster before the cut leaves it
	 * instead of meeting it full. A quota stated with a window we keep a record of fills every
	 * trailing window to the quota (a sliding one full, a fixed one never overrun); else by what
	 * remains, until reset.
	 */
	roomAt(nextSeq: number, now: number): number {
		const perWindow = Math.max(1, (this.rate * LAW.windowMs) / 1000);
		const rateRoom = this.measuredWholeWindow
			? this.record.roomAt(now, LAW.windowMs, perWindow)
			: Number.NEGATIVE_INFINITY;
		const stated = this.quota.stated;
		const quotaRoom =
			stated === undefined || stated.windowMs > LAW.windowMs
				? this.quota.nextAt(nextSeq)
				: this.record.roomAt(now, stated.windowMs, stated.limit);
		return Math.max(rateRoom, quotaRoom);
	}

	/** No one uses the pace now: only the last window's times are kept. */
	rest(now: number): void {
		this.restingSince = now;
		this.record.forget(now);
	}

	/** Taken up again: the probe goes on where it stopped, as if the rest had not been. */
	resume(now: number): void {
		if (this.restingSince === undefined) return;
		this.probeFrom += now - this.restingSince;
		this.restingSince = undefined;
		this.grownAt = undefined;
	}

	private taken(ticket: Ticket, now: number): void {
		this.record.takenAt(ticket.sentAt, now);
		this.cap.taken(ticket);
		if (ticket.seq > this.cutSeq) this.takenSinceCut++;
	}

	/**
	 * A whole window taken above the rate last refused: the limit is higher (it rose, or that
	 * refusal was a start's), and the end of the work may go as fast, kept below it as a cut's is.
	 */
	private noteTakenAbove(now: number): void {
		const taken = this.record.takenRate(now);
		if (taken === undefined || taken.lower !== taken.upper) return;
		this.belowRefused = Math.max(this.belowRefused, Math.sqrt(LAW.decrease) * taken.lower);
	}

	/**
	 * The law's end of the work: not beyond the rate last refused. Runs that are all end (short runs
	 * that follow one another) still probe now and then, so that a limit read low, or one that rose,
	 * is left.
	 */
	private refusedCeiling(backlog: number): number {
		const leftMs = (backlog * 1000) / this.rate;
		const refusalCost = (this.rate * LAW.probeWorthMs) / 1000;
		const probeEarned = this.takenSinceCut * LAW.refusalShare >= refusalCost;
		if (leftMs >= LAW.probeWorthMs || probeEarned) return Number.POSITIVE_INFINITY;
		return this.belowRefused;
	}

	/** The multiplicative decrease, measured: a share of what the server took. */
	private cut(now: number, refusedSentAt: number, closed: boolean): void {
		const infinite = Number.POSITIVE_INFINITY;
		const unknown = { lower: infinite, upper: infinite, weighed: infinite };
		const { lower, upper, weighed } = this.record.takenRate(now) ?? unknown;
		// Still refused after a pause with nothing taken since: the server's window is full, and what
		// it took over the last window is what it holds, however young the run. Refused again before
		// any pause, a token bucket may be found empty (it refills at once): no new reading.
		const full = closed && this.closedPauses > 0;
		this.measuredWholeWindow = (full || lower === upper) && Number.isFinite(lower);
		// Refused at the rate, or at what the server took if less: over the last window, which may
		// hold a bucket's burst on top of its rate (kept half a cut below then), or, early in a run,
		// from the start's burst to the refused request. After a pause, at what the window holds:
		// the rate was cut meanwhile, with nothing sent at it.
		const afterBurst = this.record.rateAfterBurst(refusedSentAt);
		const reading = (this.measuredWholeWindow ? upper : afterBurst) ?? infinite;
		const refusedAt = full && this.measuredWholeWindow ? lower : Math.min(this.rate, reading);
		const burstLeftOut = !this.measuredWholeWindow && refusedAt === afterBurst;
		if (!closed || full)
			this.belowRefused = (burstLeftOut ? 1 : Math.sqrt(LAW.decrease)) * refusedAt;
		// More refusals within a window: the cut was not enough (the count still holds a burst).
		this.cutsInWindow = now - this.cutAt < LAW.windowMs ? this.cutsInWindow + 1 : 1;
		this.cutAt = now;
		const decrease = full ? LAW.decrease : LAW.decrease ** (2 ** (this.cutsInWindow - 1));
		this.rate = Math.max(LAW.lowestRate, decrease * Math.min(this.rate, full ? lower : weighed));
		this.phase = 'probe';
		this.cutSeq = this.lastSeq;
		this.probeFrom = now;
		this.grownAt = now;
		this.takenSinceCut = 0;
	}

	/** The probe's growth between `from` and `to` ms of probe time: a step that keeps doubling. */
	private probeStep(from: number, to: number): number {
		const curve = (ms: number) => LAW.probeStep * 2 ** (Math.max(0, ms) / LAW.probeDoublingMs);
		return curve(to) - curve(from);
	}

	/**
	 * The server takes nothing: wait for its Retry-After (or an own pause that doubles). The first
	 * time, no longer than until the oldest request the server took in the last window leaves it:
	 * a sliding window found full takes requests again then, whatever whole second it rounds to.
	 */
	private pauseClosed(now: number, { retryAfterMs, statusCode }: Refused): void {
		const ownMs = Math.min(LAW.closedPauseCapMs, LAW.closedPauseMs * 2 ** this.closedPauses);
		// "Retry after 0 s" from a server that keeps refusing says nothing: the own pause applies.
		const askedMs = retryAfterMs !== undefined && retryAfterMs > 0 ? retryAfterMs : undefined;
		let until = now + (askedMs ?? ownMs);
		const firstRoom = this.record.roomAt(now, LAW.windowMs, 1);
		if (this.closedPauses === 0 && firstRoom > now) until = Math.min(until, firstRoom);
		this.closedPauses++;
		if (until > this.pause.until) this.pause = { until, statusCode };
	}

	/** A stated quota and window: the rate, at once, without a slow start. */
	private takeAnnouncedRate(now: number): void {
		if (this.phase !== 'start') return;
		this.rate = this.quota.rate;
		this.phase = 'probe';
		this.probeFrom = now;
	}
}
