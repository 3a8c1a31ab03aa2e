/**
 * A rate-limited API and the node's senders in virtual time: the simulator's own limit shapes,
 * a fake clock that jumps from one timer to the next, and workers that use the pacer the way the
 * transport does. Runs of many seconds take milliseconds and never depend on the machine.
 */
import { acquirePace } from '../nodes/Twin24/transport/pacing/registry';
import type { PaceClock } from '../nodes/Twin24/transport/pacing/scheduler';
import { Scheduler } from '../nodes/Twin24/transport/pacing/scheduler';
import { readSignal } from '../nodes/Twin24/transport/pacing/signals';
import type { RateLimitSetting } from './simulator/simulator';
import { RateLimit } from './simulator/simulator';

interface Timer {
	at: number;
	order: number;
	fire: () => void;
}

/** Time stands still until `run` moves it to the next timer. */
export class VirtualClock implements PaceClock {
	private time = 0;
	private order = 0;
	private timers: Timer[] = [];

	now(): number {
		return this.time;
	}

	/** Timers set and not yet fired: what would keep a real process alive. */
	get pendingTimers(): number {
		return this.timers.length;
	}

	async wait(ms: number, signal?: AbortSignal): Promise<void> {
		await new Promise<void>((resolve) => {
			const timer = { at: this.time + Math.max(0, ms), order: this.order++, fire: resolve };
			this.timers.push(timer);
			signal?.addEventListener('abort', () => {
				this.timers = this.timers.filter((other) => other !== timer);
				resolve();
			});
		});
	}

	/** Fires timers in time order until `done` settles; fails beyond `limitMs` of virtual time. */
	async run<T>(done: Promise<T>, limitMs = 600_000): Promise<T> {
		let settled = false;
		const result = done.finally(() => (settled = true));
		for (;;) {
			await new Promise((resolve) => setImmediate(resolve));
			if (settled) return await result;
			if (this.timers.length === 0) throw new Error('nothing left to wait for, yet not done');
			this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
			const next = this.timers.shift() as Timer;
			if (next.at > limitMs) throw new Error(`still running after ${limitMs} ms of virtual time`);
			this.time = Math.max(this.time, next.at);
			next.fire();
		}
	}
}

export interface VirtualApiOptions {
	/** Any shape the simulator has, with its refusal's status, body and headers. */
	limit: RateLimitSetting;
	latencyMs: number;
	/**
	 * How long a refusal takes to come back; default 1 ms, as from the simulator on the same machine.
	 * From a remote API it travels the network like any answer (and a busy process reads it late).
	 */
	refusalLatencyMs?: number;
}

/** What the simulator would send for the request, as far as the limit decides it. */
export interface Answer {
	/** 200 when admitted, else the refusal's status (429, or 503 for some shapes). */
	status: number;
	/**
	 * Lower-case names, rendered exactly as the simulator renders them (one shared function): the
	 * rate-limit headers, and on a refusal `retry-after` (an HTTP date from the virtual clock's now,
	 * the epoch being its 0) and `content-type`.
	 */
	headers: Record<string, string>;
	/** The refusal's body (JSON, nginx's HTML page, text or ''); '' when admitted. */
	body: string;
	admitted: boolean;
}

/**
 * The simulator's rate limit on the fake clock: every shape, refusal and header the HTTP simulator
 * has. Refusals come back at once, like the simulator's; an admitted request is in flight (for a
 * cap on requests in flight) from its arrival to its answer, `latencyMs` later.
 */
export class VirtualApi {
	/** When each admitted request arrived, by the tag of its sender. */
	private readonly admitted: Array<{ at: number; tag: string }> = [];
	/** When each refused request arrived. */
	readonly refusedAt: number[] = [];
	get refused(): number {
		return this.refusedAt.length;
	}
	private readonly limit: RateLimit;
	/** While set, every request is refused (a hard block), with this Retry-After (or none). */
	blockedUntil = 0;

	constructor(
		private readonly clock: VirtualClock,
		private readonly options: VirtualApiOptions,
	) {
		this.limit = new RateLimit(options.limit);
	}

	async request(tag = ''): Promise<Answer> {
		const now = this.clock.now();
		let answer = this.limit.answer(now, now);
		if (answer.admitted && now < this.blockedUntil) {
			this.limit.release();
			answer = this.limit.refusal(0, now, answer.headers);
		}
		if (!answer.admitted) {
			this.refusedAt.push(now);
			await this.clock.wait(this.options.refusalLatencyMs ?? 1);
			return answer;
		}
		this.admitted.push({ at: now, tag });
		await this.clock.wait(this.options.latencyMs);
		this.limit.release();
		return answer;
	}

	/** When the requests of `tag` (all when undefined) were admitted. */
	admittedAt(tag?: string): number[] {
		return this.admitted
			.filter((entry) => tag === undefined || entry.tag === tag)
			.map((entry) => entry.at);
	}

	/** Admitted requests (of `tag`) between `from` and `to`. */
	admittedBetween(from: number, to: number, tag?: string): number {
		return this.admittedAt(tag).filter((at) => at > from && at <= to).length;
	}

	/** How long after `from` the admitted rate (of `tag`) over a trailing second reached `rate`. */
	timeToReach(rate: number, from: number, tag?: string): number | undefined {
		for (const at of this.admittedAt(tag)) {
			if (at >= from && this.admittedBetween(at - 1000, at, tag) >= rate) return at - from;
		}
		return undefined;
	}
}

export interface SenderRun {
	items: number;
	concurrency: number;
	/** When this sender starts, in virtual ms. */
	startAt?: number;
	/** Marks this sender's requests in the API's record. */
	tag?: string;
}

/** Sends `items` requests through `scheduler`, `concurrency` at a time, as the transport does. */
export async function send(
	clock: VirtualClock,
	api: VirtualApi,
	scheduler: Scheduler,
	run: SenderRun,
): Promise<{ endedAt: number; sent: number }> {
	if (run.startAt !== undefined) await clock.wait(run.startAt);
	let next = 0;
	let sent = 0;
	let done = 0;
	// As the router tells the transport: how many items are not done yet.
	const user = {};
	scheduler.setBacklog(user, run.items);
	// As the transport: Concurrency counts requests (waiting for a turn or in flight), and twice
	// as many items are worked on, so an item waiting out a Retry-After leaves its slot to another.
	let freeSlots = run.concurrency;
	const slotWaiters: Array<() => void> = [];
	const takeSlot = async () => {
		if (freeSlots > 0) freeSlots--;
		else await new Promise<void>((resolve) => slotWaiters.push(resolve));
	};
	const giveSlot = () => {
		const next = slotWaiters.shift();
		if (next) next();
		else freeSlots++;
	};
	const worker = async () => {
		while (next < run.items) {
			next++;
			for (;;) {
				await takeSlot();
				const turn = await scheduler.turn();
				if (turn.kind !== 'go')
					throw new Error(`a turn was refused without a cancel: ${turn.kind}`);
				sent++;
				const answer = await api.request(run.tag);
				giveSlot();
				// As the transport reads it: the one classification, pacing/signals.
				const signal = readSignal(answer.status, answer.headers, clock.now());
				scheduler.answered(turn.ticket, signal);
				if (signal.kind !== 'refused') {
					scheduler.setBacklog(user, run.items - ++done);
					break;
				}
				// As the transport: the refused request waits out its own Retry-After, then its turn.
				if (signal.retryAfterMs !== undefined) await clock.wait(signal.retryAfterMs);
			}
		}
	};
	await Promise.all(Array.from({ length: 2 * run.concurrency }, worker));
	scheduler.setBacklog(user, undefined);
	return { endedAt: clock.now(), sent };
}

/** One sender (one scheduler) through one limit: how long it took and how many were refused. */
export async function runOne(options: VirtualApiOptions & SenderRun): Promise<{
	api: VirtualApi;
	scheduler: Scheduler;
	endedAt: number;
	sent: number;
	refusedShare: number;
}> {
	const clock = new VirtualClock();
	const api = new VirtualApi(clock, options);
	const scheduler = new Scheduler(clock);
	const { endedAt, sent } = await clock.run(send(clock, api, scheduler, options));
	return { api, scheduler, endedAt, sent, refusedShare: api.refused / sent };
}

export { Scheduler };

export interface SequenceRun {
	/** When the run took the pace, and its rate then. */
	startedAt: number;
	startRate: number;
	endedAt: number;
	sent: number;
}

/**
 * Runs one after another on one account, each taking the account's pace from the registry and
 * letting go of it at its end, as executions of the node do; `gapMs` between them.
 */
export async function runInSequence(
	clock: VirtualClock,
	api: VirtualApi,
	options: { accountKey: string; runs: number; gapMs?: number } & SenderRun,
): Promise<SequenceRun[]> {
	const runs: SequenceRun[] = [];
	for (let index = 0; index < options.runs; index++) {
		if (index > 0 && options.gapMs !== undefined) await clock.wait(options.gapMs);
		const pace = acquirePace(options.accountKey, clock);
		const startedAt = clock.now();
		const startRate = pace.scheduler.rate;
		const { endedAt, sent } = await send(clock, api, pace.scheduler, options);
		pace.release();
		runs.push({ startedAt, startRate, endedAt, sent });
	}
	return runs;
}
