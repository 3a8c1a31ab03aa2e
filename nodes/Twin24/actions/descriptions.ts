import type { INodeProperties } from 'n8n-workflow';

/** UI pieces shared by several operations. Each operation attaches its own displayOptions. */

/**
 * The numeric options' bounds and defaults: the UI offers them, and a run clamps what it reads to
 * them (an expression may give any number). Max Wait counts seconds, Timeout milliseconds.
 */
export const OPTION_BOUNDS = {
	concurrency: { min: 1, max: 50, default: 10 },
	maxRetries: { min: 0, max: 10, default: 5 },
	maxWait: { min: 0, max: 86400, default: 60 },
	timeout: { min: 1000, max: 600000, default: 30000 },
} as const;

export type NumericOption = keyof typeof OPTION_BOUNDS;

function numericOption(
	name: NumericOption,
	displayName: string,
	description: string,
): INodeProperties {
	const { min, max, default: fallback } = OPTION_BOUNDS[name];
	return {
		displayName,
		name,
		type: 'number',
		typeOptions: { minValue: min, maxValue: max },
		default: fallback,
		description,
	};
}

/** What the IDs look like: public clients show call IDs as UUIDs, candidate IDs as strings. */
export const CALL_ID_EXAMPLE = 'a UUID such as 3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11';
export const CANDIDATE_ID_EXAMPLE =
	'the ID the system that created the auto call candidate gave it (often a UUID)';

export function idField(name: string, displayName: string, description: string): INodeProperties {
	return {
		displayName,
		name,
		type: 'string',
		required: true,
		default: '',
		placeholder: 'e.g. 3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11',
		description,
	};
}

export const skipDeleteRecordField: INodeProperties = {
	displayName: 'Keep Recording',
	name: 'skipDeleteRecord',
	type: 'boolean',
	default: false,
	description:
		'Whether to keep the audio recording. Off (the default): the recording is deleted together with the personal data.',
};

export const optionsCollection: INodeProperties = {
	displayName: 'Options',
	name: 'options',
	type: 'collection',
	placeholder: 'Add option',
	default: {},
	options: [
		numericOption(
			'concurrency',
			'Concurrency',
			'How many requests may be in flight at once. Read from the first item. The node also slows down by itself when Twin24 (or a proxy in front of it) answers 429 Too Many Requests or 503 Service Unavailable, or announces its limit in RateLimit headers.',
		),
		{
			displayName: 'Dry Run',
			name: 'dryRun',
			type: 'boolean',
			default: false,
			description:
				'Whether to send nothing and output the exact request that would be sent (without the token), to check a workflow before it erases anything',
		},
		{
			displayName: 'Ignore Not Found',
			name: 'ignoreNotFound',
			type: 'boolean',
			default: false,
			description:
				"Whether a 404 (unknown ID, or already erased) counts as done, with 'notFound' set to true in the output, so that running the same IDs again is safe",
		},
		numericOption(
			'maxRetries',
			'Max Retries',
			'How often one request is retried after 408, 500, 502, 504, a dropped connection or a timeout, and how often a failing login is tried again. A 429 or 503 (too many requests) is retried for as long as Max Wait allows, however often. Other errors are never retried. Read from the first item.',
		),
		numericOption(
			'maxWait',
			'Max Wait (Seconds)',
			'The longest the node waits when Twin24 asks it to (Retry-After on a 429 or 503, or before logging in again), and how long one request may keep meeting 429s or 503s. When Twin24 asks for longer, the items fail at once, with the time Twin24 takes requests again; nothing is sent before that time. Read from the first item.',
		),
		numericOption(
			'timeout',
			'Timeout (Ms)',
			'How long one request may take, in milliseconds, before it counts as timed out (and is retried). Read from the first item.',
		),
	],
};
