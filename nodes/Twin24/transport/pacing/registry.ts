import type { PacerClock } from './pacer';
import { Pacer } from './pacer';

/**
 * One Pacer per Twin24 account in this process: every execution and node that uses the account
 * shares it, so they split its limit instead of fighting over it.
 */

interface SharedPacer {
	pacer: Pacer;
	users: number;
}

const sharedPacers = new Map<string, SharedPacer>();

/** One user's hold on an account's pace. */
export interface PaceHandle {
	pacer: Pacer;
	/** How many requests this user still has to send (it may stop probing near the end). */
	setBacklog(requests: number): void;
	release(): void;
}

/** The one Pacer of a Twin24 account (key = credential id + CIS base URL) in this process. */
export function acquirePacer(accountKey: string, clock?: PacerClock): PaceHandle {
	let shared = sharedPacers.get(accountKey);
	if (shared === undefined) {
		shared = { pacer: new Pacer(clock), users: 0 };
		sharedPacers.set(accountKey, shared);
	}
	shared.users++;
	const entry = shared;
	const user = {};
	let released = false;
	return {
		pacer: entry.pacer,
		setBacklog(requests) {
			if (!released) entry.pacer.setBacklog(user, requests);
		},
		release() {
			if (released) return;
			released = true;
			entry.pacer.setBacklog(user, undefined);
			entry.users--;
			if (entry.users === 0 && sharedPacers.get(accountKey) === entry)
				sharedPacers.delete(accountKey);
		},
	};
}

/** How many accounts have a pacer in use in this process (for tests). */
export function pacersInUse(): number {
	return sharedPacers.size;
}
