import type { INodeProperties } from 'n8n-workflow';

/** UI pieces shared by several operations. Each operation attaches its own displayOptions. */

export const DEFAULT_CONCURRENCY = 10;
export const DEFAULT_MAX_RETRIES = 5;
export const DEFAULT_TIMEOUT_MS = 30000;
export const DEFAULT_MAX_WAIT_SECONDS = 60;

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
		{
			displayName: 'Concurrency',
			name: 'concurrency',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: 50 },
			default: DEFAULT_CONCURRENCY,
			description:
				'How many requests may be in flight at once. Read from the first item. The node also slows down by itself when Twin24 answers 429 Too Many Requests.',
		},
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
				"Whether a 404 (unknown ID, or already erased) counts as done, with 'notFound' set to true in the output, so that re-running a workflow is safe",
		},
		{
			displayName: 'Max Retries',
			name: 'maxRetries',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 10 },
			default: DEFAULT_MAX_RETRIES,
			description:
				'How often one request is retried after 429, 408, 500, 502, 503, 504, a dropped connection or a timeout. Other errors are never retried. Read from the first item.',
		},
		{
			displayName: 'Max Wait (Seconds)',
			name: 'maxWait',
			type: 'number',
			typeOptions: { minValue: 0, maxValue: 86400 },
			default: DEFAULT_MAX_WAIT_SECONDS,
			description:
				'The longest the node waits when Twin24 asks it to (Retry-After on a 429 or 503, or before logging in again). When Twin24 asks for longer, the items fail at once, with the time Twin24 takes requests again; nothing is sent before that time. Read from the first item.',
		},
		{
			displayName: 'Timeout (Ms)',
			name: 'timeout',
			type: 'number',
			typeOptions: { minValue: 1000 },
			default: DEFAULT_TIMEOUT_MS,
			description:
				'How long one request may take, in milliseconds, before it counts as timed out (and is retried). Read from the first item.',
		},
	],
};
