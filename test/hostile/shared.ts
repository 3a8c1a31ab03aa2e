/**
 * What the case tables of the hostile-input suite (issue 4) share: the outcomes a case expects,
 * the operations under test and the credential builders. Each table row says what is thrown at
 * the node and the exact outcome expected; test/hostile.test.ts runs every row through n8n's
 * engine against the simulator over real HTTP.
 */
import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { ErasureRoute, Twin24Simulator } from '../simulator/simulator';
import { CIS_BASE_PATH } from '../simulator/simulator';
import { loginCredentials, tokenCredentials } from '../support';

// ---------------------------------------------------------------- outcomes

/** A text an error must contain: a pattern, or an exact piece. */
export type Matcher = RegExp | string;

export type Outcome =
	| { kind: 'success' }
	/** An HTTP-level failure of an item: NodeApiError naming the action, the ID and the status. */
	| { kind: 'failure'; status?: number; shows: readonly Matcher[]; hides?: readonly RegExp[] }
	/** Nothing sent (an invalid item, an unusable credential): NodeOperationError. */
	| { kind: 'notSent'; shows: readonly Matcher[] };

export const success: Outcome = { kind: 'success' };

export function failure(
	status: number | undefined,
	shows: readonly Matcher[] = [],
	hides: readonly RegExp[] = [],
): Outcome {
	return { kind: 'failure', status, shows, hides };
}

export function notSent(...shows: Matcher[]): Outcome {
	return { kind: 'notSent', shows };
}

/** What a timed-out request says (no status, no Node error code). */
export const TIMED_OUT = /did not answer in time/;

// ---------------------------------------------------------------- operations

export interface OperationUnderTest {
	name: string;
	resource: 'call' | 'autoCallCandidate';
	operation: 'depersonalize' | 'deleteRecord';
	idField: 'callId' | 'autoCallCandidateId';
	idLabel: string;
	/** How error messages name the action. */
	action: RegExp;
	method: 'POST' | 'DELETE';
	route: ErasureRoute;
	/** The raw request path is `${pathBefore}<one encoded segment>${pathAfter}`. */
	pathBefore: string;
	pathAfter: string;
}

export const CALL_DEPERSONALIZE: OperationUnderTest = {
	name: 'Call → Depersonalize',
	resource: 'call',
	operation: 'depersonalize',
	idField: 'callId',
	idLabel: 'Call ID',
	action: /depersonali[sz]e call/i,
	method: 'POST',
	route: 'call.depersonalize',
	pathBefore: `${CIS_BASE_PATH}/calls/`,
	pathAfter: '/depersonalization',
};

export const OPERATIONS: readonly OperationUnderTest[] = [
	CALL_DEPERSONALIZE,
	{
		name: 'Call → Delete Record',
		resource: 'call',
		operation: 'deleteRecord',
		idField: 'callId',
		idLabel: 'Call ID',
		action: /delete the recording of call/i,
		method: 'DELETE',
		route: 'call.deleteRecord',
		pathBefore: `${CIS_BASE_PATH}/calls/`,
		pathAfter: '/record',
	},
	{
		name: 'Auto Call Candidate → Depersonalize',
		resource: 'autoCallCandidate',
		operation: 'depersonalize',
		idField: 'autoCallCandidateId',
		idLabel: 'Auto Call Candidate ID',
		action: /depersonali[sz]e auto call candidate/i,
		method: 'POST',
		route: 'candidate.depersonalize',
		pathBefore: `${CIS_BASE_PATH}/telephony/autoCallCandidate/`,
		pathAfter: '/depersonalization',
	},
];

// ---------------------------------------------------------------- credential builders

export const token =
	(overrides: ICredentialDataDecryptedObject = {}) =>
	(sim: Twin24Simulator) =>
		tokenCredentials(sim, overrides);
export const login =
	(overrides: ICredentialDataDecryptedObject = {}) =>
	(sim: Twin24Simulator) =>
		loginCredentials(sim, overrides);
