/** Trouble on demand: random faults, and the one-off answers tests queue. */
import type { OutgoingHttpHeaders } from 'node:http';

import type { ApiRoute, FaultSetting, InjectedFault, ScriptedAnswer, ScriptedFault } from './types';

const DEFAULT_FAULT_SEED = 24;

/** mulberry32: a tiny seeded PRNG, so fault sequences repeat for a given seed. */
function seededRandom(seed: number): () => number {
	let state = seed >>> 0;
	return () => {
		state = (state + 0x6d2b79f5) >>> 0;
		let mixed = state;
		mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
		mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
		return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
	};
}

export class FaultDice {
	private readonly random: () => number;

	constructor(private readonly setting: FaultSetting) {
		this.random = seededRandom(setting.seed ?? DEFAULT_FAULT_SEED);
	}

	roll(): InjectedFault | undefined {
		if (this.random() >= this.setting.rate) return undefined;
		return this.setting.kinds[Math.floor(this.random() * this.setting.kinds.length)];
	}
}

interface PendingFailure {
	remaining: number;
	fault: ScriptedFault;
	route: ApiRoute | undefined;
	headers: OutgoingHttpHeaders;
}

interface PendingAnswer {
	remaining: number;
	answer: ScriptedAnswer;
}

/** One-off answers queued by tests: `failNext` (any route) and `respondFor` (one ID). */
export class ScriptBook {
	private failures: PendingFailure[] = [];
	private readonly answers = new Map<string, PendingAnswer[]>();

	addFailures(
		count: number,
		fault: ScriptedFault,
		route: ApiRoute | undefined,
		headers: OutgoingHttpHeaders = {},
	): void {
		this.failures.push({ remaining: count, fault, route, headers });
	}

	addAnswer(id: string, answer: ScriptedAnswer): void {
		const queue = this.answers.get(id) ?? [];
		queue.push({ remaining: answer.times ?? 1, answer });
		this.answers.set(id, queue);
	}

	takeFailure(route: ApiRoute): PendingFailure | undefined {
		if (this.failures.length === 0) return undefined;
		const index = this.failures.findIndex(
			(failure) => failure.route === undefined || failure.route === route,
		);
		if (index === -1) return undefined;
		const failure = this.failures[index];
		failure.remaining -= 1;
		if (failure.remaining <= 0) this.failures.splice(index, 1);
		return failure;
	}

	takeAnswer(id: string): ScriptedAnswer | undefined {
		if (this.answers.size === 0) return undefined;
		const queue = this.answers.get(id);
		if (queue === undefined) return undefined;
		const next = queue[0];
		next.remaining -= 1;
		if (next.remaining <= 0) queue.shift();
		if (queue.length === 0) this.answers.delete(id);
		return next.answer;
	}

	clear(): void {
		this.failures = [];
		this.answers.clear();
	}
}
