import type { PacerClock } from './pacer';
import { Pacer, systemClock } from './pacer';

/**
 * One Pacer per Twin24 account in this process: every execution and node that uses the account
 * shares it, so they split its limit instead of fighting over it. When the last of them lets go,
 * the account's pace is remembered for a while, so that the next run (a Loop Over Items round, the
 * next scheduled execution) starts at the pace already found instead of finding it again.
 */

/**
 * How long a pace is remembered after its last user let go. Long enough to bridge loop rounds
 * (milliseconds apart) and schedules that run every few minutes; beyond it the share of the limit
 * it found (other workers and clients use the same account) is a guess again.
 */
export const PACE_MEMORY_MS = 10 * 60 * 1000;
/** At most this many idle paces are remembered; the one idle longest is forgotten first. */
export const REMEMBERED_PACES = 100;

interface AccountPace {
	pacer: Pacer;
	clock: PacerClock;
	users: number;
	/** When the last user let go; undefined while the pace is in use. */
	idleSince: number | undefined;
}

/** In the order the paces were last let go of (Map keeps insertion order). */
const accountPaces = new Map<string, AccountPace>();

/** One user's hold on an account's pace. */
export interface PaceHandle {
	pacer: Pacer;
	/** How many requests this user still has to send (it may stop probing near the end). */
	setBacklog(requests: number): void;
	release(): void;
}

/** The one Pacer of a Twin24 account (key = credential id + CIS base URL) in this process. */
export function acquirePacer(accountKey: string, clock?: PacerClock): PaceHandle {
	forgetOldPaces();
	let entry = accountPaces.get(accountKey);
	if (entry === undefined) {
		const paceClock = clock ?? systemClock;
		entry = { pacer: new Pacer(paceClock), clock: paceClock, users: 0, idleSince: undefined };
		accountPaces.set(accountKey, entry);
	}
	if (entry.idleSince !== undefined) entry.pacer.resume();
	entry.idleSince = undefined;
	entry.users++;
	const account = entry;
	const user = {};
	let released = false;
	return {
		pacer: account.pacer,
		setBacklog(requests) {
			if (!released) account.pacer.setBacklog(user, requests);
		},
		release() {
			if (released) return;
			released = true;
			account.pacer.setBacklog(user, undefined);
			account.users--;
			if (account.users === 0) rest(accountKey, account);
		},
	};
}

/** Keeps an account's pace, now without users, as the most recently idle one. */
function rest(accountKey: string, account: AccountPace): void {
	account.idleSince = account.clock.now();
	account.pacer.rest();
	accountPaces.delete(accountKey);
	accountPaces.set(accountKey, account);
	forgetOldPaces();
}

/**
 * Forgets the paces idle for longer than PACE_MEMORY_MS, and the longest idle beyond
 * REMEMBERED_PACES. Only ever called when a pace is taken or let go: no timer keeps anything alive.
 */
function forgetOldPaces(): void {
	let idle = 0;
	for (const account of accountPaces.values()) if (account.idleSince !== undefined) idle++;
	for (const [accountKey, account] of accountPaces) {
		if (account.idleSince === undefined) continue;
		const tooOld = account.clock.now() - account.idleSince > PACE_MEMORY_MS;
		if (!tooOld && idle <= REMEMBERED_PACES) continue;
		accountPaces.delete(accountKey);
		idle--;
	}
}

/** How many accounts have a pacer in use in this process (for tests). */
export function pacersInUse(): number {
	let inUse = 0;
	for (const account of accountPaces.values()) if (account.users > 0) inUse++;
	return inUse;
}

/** How many accounts' paces are remembered without a user (for tests); forgets the old ones first. */
export function pacesRemembered(): number {
	forgetOldPaces();
	return accountPaces.size - pacersInUse();
}

/** Forgets every remembered pace (for tests that need a run to start from nothing). */
export function forgetPaces(): void {
	for (const [accountKey, account] of accountPaces) {
		if (account.idleSince !== undefined) accountPaces.delete(accountKey);
	}
}
