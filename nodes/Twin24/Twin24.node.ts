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
import { optionsCollection } from './actions/descriptions';
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
			name: 'Delete Record',
			value: 'deleteRecord',
			description: "Delete a call's audio recording for good, keeping the rest of the call",
			action: 'Delete a call recording',
		},
		{
			name: 'Depersonalize',
			value: 'depersonalize',
			description: "Erase a call's personal data for good (and its recording, unless kept)",
			action: 'Depersonalize a call',
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
				"Erase an auto-call candidate's personal data for good (and recordings, unless kept)",
			action: 'Depersonalize an auto call candidate',
		},
	],
	default: 'depersonalize',
};

const irreversibleNotice: INodeProperties = {
	displayName:
		'Erasure cannot be undone. Keep Settings → Retry On Fail off: the node retries each failed request by itself and never sends one twice for an item that succeeded.',
	name: 'irreversibleNotice',
	type: 'notice',
	default: '',
};

export class Twin24 implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Twin24',
		name: 'twin24',
		icon: { light: 'file:twin24.svg', dark: 'file:twin24.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["resource"] }}',
		description:
			'Erase personal data from Twin24 calls and auto-call candidates (GDPR right to erasure)',
		defaults: { name: 'Twin24' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [{ name: 'twin24Api', required: true }],
		properties: [
			irreversibleNotice,
			resourceSelector,
			callOperations,
			autoCallCandidateOperations,
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
