import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { depersonalizeAutoCallCandidate } from './actions/autoCallCandidate/depersonalize.operation';
import { deleteCallRecord } from './actions/call/deleteRecord.operation';
import { depersonalizeCall } from './actions/call/depersonalize.operation';
import { CALL_ID_EXAMPLE, CANDIDATE_ID_EXAMPLE, optionsCollection } from './actions/descriptions';
import { router } from './actions/router';

const resourceSelector: INodeProperties = {
	displayName: 'Resource',
	name: 'resource',
	type: 'options',
	noDataExpression: true,
	options: [
		{ name: 'Auto Call Candidate', value: 'autoCallCandidate' },
		{ name: 'Call', value: 'call' },
	],
	default: 'call',
};

const callOperations: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['call'] } },
	options: [
		{
			name: 'Delete Recording',
			value: 'deleteRecord',
			description: "Delete a call's audio recording permanently; the call and its other data stay",
			action: 'Delete call recording',
		},
		{
			name: 'Depersonalize',
			value: 'depersonalize',
			description: "Erase a call's personal data permanently, and its recording unless kept",
			action: 'Depersonalize call',
		},
	],
	default: 'depersonalize',
};

const autoCallCandidateOperations: INodeProperties = {
	displayName: 'Operation',
	name: 'operation',
	type: 'options',
	noDataExpression: true,
	displayOptions: { show: { resource: ['autoCallCandidate'] } },
	options: [
		{
			name: 'Depersonalize',
			value: 'depersonalize',
			description:
				"Erase an auto call candidate's personal data permanently, and its recordings unless kept",
			action: 'Depersonalize auto call candidate',
		},
	],
	default: 'depersonalize',
};

const irreversibleNotice: INodeProperties = {
	displayName:
		"Erasure can't be undone: Twin24 deletes the data for good. To try a workflow first, turn on the option Dry Run: it shows each request and sends nothing.",
	name: 'irreversibleNotice',
	type: 'notice',
	default: '',
};

const TOOL_RESULT =
	'It answers in JSON: success true with confirmedAt once Twin24 confirmed the erasure; otherwise success false with error and whatToDo.';
const NEVER_GUESS = 'exactly as the user gave it; never guess, build or change an ID.';
const CALL_ID = `Takes the call's ID, ${CALL_ID_EXAMPLE}, ${NEVER_GUESS}`;

/**
 * What the AI agent reads about the tool variant (n8n names it twin24Tool). Without it, n8n would
 * describe the tool by its action alone ("Depersonalize call in Twin24"): nothing about what is
 * lost for good, or what an ID looks like. Defining `toolDescription` replaces n8n's own field.
 */
function toolDescription(resource: string, operation: string, text: string): INodeProperties {
	return {
		displayName: 'Tool Description',
		name: 'toolDescription',
		type: 'string',
		typeOptions: { rows: 4 },
		default: text,
		description: 'What the AI agent reads about this tool, to decide when and how to call it',
		displayOptions: { show: { '@tool': [true], resource: [resource], operation: [operation] } },
	};
}

const toolDescriptions: INodeProperties[] = [
	toolDescription(
		'call',
		'depersonalize',
		`Irreversibly erases all personal data of one Twin24 call and, unless this workflow keeps recordings, its audio recording. This cannot be undone. ${CALL_ID} ${TOOL_RESULT}`,
	),
	toolDescription(
		'call',
		'deleteRecord',
		`Irreversibly deletes the audio recording of one Twin24 call; the call's other data stays. This cannot be undone. ${CALL_ID} ${TOOL_RESULT}`,
	),
	toolDescription(
		'autoCallCandidate',
		'depersonalize',
		`Irreversibly erases all personal data of one Twin24 auto call candidate (a person queued in an automatic calling campaign) and, unless this workflow keeps recordings, the recordings of their calls. This cannot be undone. Takes the candidate's ID, ${CANDIDATE_ID_EXAMPLE}, ${NEVER_GUESS} ${TOOL_RESULT}`,
	),
];

export class Twin24 implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Twin24',
		name: 'twin24',
		icon: { light: 'file:twin24.svg', dark: 'file:twin24.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle:
			'={{ ({ depersonalize: "Depersonalize", deleteRecord: "Delete Recording" })[$parameter["operation"]] + ": " + ({ call: "Call", autoCallCandidate: "Auto Call Candidate" })[$parameter["resource"]] }}',
		description:
			'Erase personal data from Twin24 calls and auto call candidates (GDPR right to erasure)',
		defaults: { name: 'Twin24' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'twin24Api', required: true }],
		properties: [
			resourceSelector,
			callOperations,
			autoCallCandidateOperations,
			irreversibleNotice,
			...toolDescriptions,
			...depersonalizeCall.description,
			...deleteCallRecord.description,
			...depersonalizeAutoCallCandidate.description,
			optionsCollection,
		],
	};

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await router.call(this);
	}
}
