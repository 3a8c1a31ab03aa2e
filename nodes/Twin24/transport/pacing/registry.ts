import { Scheduler, systemClock } from './scheduler';

/**
 * One Scheduler per Twin24 account in this process: every execution and node that uses the account
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
	scheduler: Scheduler;
	users: number;
}

/** In the order the paces were last let go of (Map keeps insertion order). */
const accountPaces = new Map<string, AccountPace>();

/** One user's hold on an account's pace. */
export interface PaceHandle {
	scheduler: Scheduler;
	/** How many requests this user still has to send (it may stop probing near the end). */
	setBacklog(requests: number): void;
	release(): void;
}

/** The one Scheduler of a Twin24 account (key = credential id + CIS base URL) in this process. */
export function acquirePace(accountKey: string, clock = systemClock): PaceHandle {
	forgetOldPaces();
	const account = accountPaces.get(accountKey) ?? { scheduler: new Scheduler(clock), users: 0 };
	accountPaces.set(accountKey, account);
	account.scheduler.resume();
	account.users++;
	const user = {};
	let released = false;
	return {
		scheduler: account.scheduler,
		setBacklog(requests) {
			if (!released) account.scheduler.setBacklog(user, requests);
		},
		release() {
			if (released) return;
			released = true;
			account.scheduler.setBacklog(user, undefined);
			if (--account.users === 0) rest(accountKey, account);
		},
	};
}

/** Keeps an account's pace, now without users, as the most recently idle one. */
function rest(accountKey: string, account: AccountPace): void {
	account.scheduler.rest();
	accountPaces.delete(accountKey);
	accountPaces.set(accountKey, account);
	forgetOldPaces();
}

function idlePaces(): Array<[string, AccountPace]> {
	return [...accountPaces].filter(([, account]) => account.scheduler.restedMs !== undefined);
}

/**
 * Forgets the paces idle for longer than PACE_MEMORY_MS, and the longest idle beyond
 * REMEMBERED_PACES. Only ever called when a pace is taken or let go: no timer keeps anything alive.
 */
function forgetOldPaces(): void {
	const idle = idlePaces();
	idle.forEach(([accountKey, account], index) => {
		const tooOld = (account.scheduler.restedMs ?? 0) > PACE_MEMORY_MS;
		if (tooOld || index < idle.length - REMEMBERED_PACES) accountPaces.delete(accountKey);
	});
}

/** How many accounts have a pace in use in this process (for tests). */
export function pacesInUse(): number {
	return accountPaces.size - idlePaces().length;
}

/** How many paces are remembered without a user (for tests); forgets the old ones first. */
export function pacesRemembered(): number {
	forgetOldPaces();
	return idlePaces().length;
}

/** Forgets every remembered pace (for tests that need a run to start from nothing). */
export function forgetPaces(): void {
	for (const [accountKey] of idlePaces()) accountPaces.delete(accountKey);
}
