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
		"Erasure can't be undone. Settings → Retry On Fail is safe: a new try never sends again what Twin24 confirmed, but each try first waits Wait Between Tries.",
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
