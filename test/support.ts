/**
 * The simulator of a test file and what it erased: a simulator with the demo identity (one per
 * test file), the pace registry the node uses, call IDs, and the check that each was erased once.
 * Beside it: workflow.ts (the Twin24 node's parameters and items, running them, reading the
 * output) and accounts.ts (the demo account's credentials, and the scan that proves its secrets
 * never got out), both re-exported here for suites that import everything from one place.
 */
import { join } from 'node:path';

import type * as PaceRegistry from '../nodes/Twin24/transport/pacing/registry';
import { addDemoIdentity } from './accounts';
import { findPackageRoot } from './harness/engine';
import type { SimulatorOptions } from './simulator/simulator';
import { Twin24Simulator } from './simulator/simulator';

export * from './accounts';
export * from './workflow';

/** A simulator that knows the demo user and the demo access tokens, again after every reset. */
export async function startSimulator(options: SimulatorOptions = {}): Promise<Twin24Simulator> {
	const simulator = await Twin24Simulator.start({ ...options, onReset: addDemoIdentity });
	addDemoIdentity(simulator);
	return simulator;
}

/** The pace registry as n8n loaded it from dist/ (the same instance the node uses). */
export function loadedPaceRegistry(): typeof PaceRegistry {
	// eslint-disable-next-line @typescript-eslint/no-require-imports
	return require(
		join(findPackageRoot(), 'dist/nodes/Twin24/transport/pacing/registry.js'),
	) as typeof PaceRegistry;
}

/**
 * One simulator for a test file: started before its tests, reset before each (then `seed` runs),
 * stopped after them. `use` receives it once it is listening. Each test also starts with no pace
 * remembered: the tests share one credential and one simulator, so one test's pace (a pause for a
 * long Retry-After, a low limit) would be taken up by the next.
 */
export function useSimulator(
	use: (simulator: Twin24Simulator) => void,
	seed: (simulator: Twin24Simulator) => void = () => undefined,
): void {
	let started: Twin24Simulator | undefined;
	beforeAll(async () => {
		started = await startSimulator();
		use(started);
	});
	afterAll(async () => await started?.stop());
	beforeEach(() => {
		loadedPaceRegistry().forgetPaces();
		started?.reset();
		if (started) seed(started);
	});
}

/**
 * The one simulator of a test file, for its tests and hooks: started before them, reset before
 * each (then `seed` runs), stopped after them, as `useSimulator` does. The object returned stands
 * for the simulator once it is listening; reading it before then (outside a test) throws.
 */
export function fileSimulator(
	seed: (simulator: Twin24Simulator) => void = () => undefined,
): Twin24Simulator {
	let started: Twin24Simulator | undefined;
	useSimulator((simulator) => (started = simulator), seed);
	const listening = (): Twin24Simulator => {
		if (started === undefined) throw new Error('the simulator is read before it was started');
		return started;
	};
	return new Proxy({} as Twin24Simulator, {
		get(_target, key) {
			const simulator = listening();
			const value: unknown = Reflect.get(simulator, key, simulator);
			return typeof value === 'function'
				? (value as (...args: unknown[]) => unknown).bind(simulator)
				: value;
		},
		set(_target, key, value: unknown) {
			const simulator = listening();
			return Reflect.set(simulator, key, value, simulator);
		},
	});
}

/** `count` call IDs: `call-0`, `call-1`, … (or with another prefix). */
export function callIds(count: number, prefix = 'call'): string[] {
	return Array.from({ length: count }, (_, index) => `${prefix}-${index}`);
}

/** Each of `ids` was erased by the simulator exactly once, and nothing else was erased. */
export function expectErasedExactlyOnce(simulator: Twin24Simulator, ids: readonly string[]): void {
	const erased = simulator.erasures().map((erasure) => erasure.id);
	expect([...erased].sort()).toEqual([...ids].sort());
	expect(simulator.duplicateErasures()).toBe(0);
}
