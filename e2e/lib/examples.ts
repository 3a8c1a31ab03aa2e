/**
 * The workflows in examples/, bound to the credentials the e2e imports, plus what each one is
 * expected to do. The IDs below are the ones written in the example files (checked at load time).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { isObject, type JsonObject } from './runData';
import type { SimulatorInfo } from './simulator';

export const TWIN24_NODE_TYPE = 'n8n-nodes-twin24.twin24';
/** The node as an AI agent's tool: n8n derives this type from the node's `usableAsTool`. */
export const TWIN24_TOOL_TYPE = 'n8n-nodes-twin24.twin24Tool';
export const CREDENTIAL_TYPE = 'twin24Api';

export type AuthMode = 'accessToken' | 'emailPassword';

export interface CredentialRef {
	id: string;
	name: string;
	mode: AuthMode;
}

export const TOKEN_CREDENTIAL: CredentialRef = {
	id: 'twin24E2eToken01',
	name: 'Twin24 (access token)',
	mode: 'accessToken',
};
export const LOGIN_CREDENTIAL: CredentialRef = {
	id: 'twin24E2eLogin01',
	name: 'Twin24 (email + password)',
	mode: 'emailPassword',
};

export const WEBHOOK_EXAMPLE = 'crm-erasure-webhook.json';
export const BULK_EXAMPLE = 'scheduled-bulk-erasure.json';
export const RECORDING_EXAMPLE = 'delete-call-recording.json';

/** IDs written in scheduled-bulk-erasure.json's Code nodes. */
export const BULK = {
	seededCalls: ['b6f1d7a2-3c4e-4f5a-8b9c-0d1e2f3a4b5c', 'c7a2e8b3-4d5f-4a6b-9cad-1e2f3a4b5c6d'],
	unknownCall: 'd8b3f9c4-5e6a-4b7c-8dbe-2f3a4b5c6d7e',
	blankCall: '',
	candidates: ['campaign-2024-q3-000117', 'campaign-2024-q3-000118'],
} as const;

/** The call ID written in delete-call-recording.json's Set node. */
export const RECORDING_CALL = 'e9c4a0d5-6f7b-4c8d-9ecf-3a4b5c6d7e8f';

/** What the e2e's CRM sends to the webhook of crm-erasure-webhook.json. */
export const WEBHOOK = {
	path: 'twin24-erasure',
	seededCalls: ['0b8e6f1a-2c3d-4e5f-8a9b-7c6d5e4f3a21', '1c9f7a2b-3d4e-4f5a-9bac-8d7e6f5a4b32'],
	unknownCall: '2dae8b3c-4e5f-4a6b-8cbd-9e8f7a6b5c43',
} as const;

export function credentialDocuments(info: SimulatorInfo): JsonObject[] {
	return [
		{
			id: TOKEN_CREDENTIAL.id,
			name: TOKEN_CREDENTIAL.name,
			type: CREDENTIAL_TYPE,
			data: {
				authMode: 'accessToken',
				accessToken: info.accessToken,
				cisBaseUrl: info.cisBaseUrl,
				iamBaseUrl: info.iamBaseUrl,
			},
		},
		{
			id: LOGIN_CREDENTIAL.id,
			name: LOGIN_CREDENTIAL.name,
			type: CREDENTIAL_TYPE,
			data: {
				authMode: 'emailPassword',
				email: info.email,
				password: info.password,
				cisBaseUrl: info.cisBaseUrl,
				iamBaseUrl: info.iamBaseUrl,
			},
		},
	];
}

export function readExample(examplesDir: string, fileName: string): JsonObject {
	const text = readFileSync(join(examplesDir, fileName), 'utf8');
	const parsed: unknown = JSON.parse(text);
	if (!isObject(parsed) || !Array.isArray(parsed.nodes))
		throw new Error(`${fileName} is not a workflow`);
	return parsed;
}

/** A copy of the example with its own id and its Twin24 nodes pointing at `credential`. */
export function bindExample(
	example: JsonObject,
	workflowId: string,
	credential: CredentialRef,
): JsonObject {
	const copy: unknown = JSON.parse(JSON.stringify(example));
	if (!isObject(copy) || !Array.isArray(copy.nodes)) throw new Error('workflow without nodes');
	for (const node of copy.nodes) {
		if (isObject(node) && node.type === TWIN24_NODE_TYPE) {
			node.credentials = { [CREDENTIAL_TYPE]: { id: credential.id, name: credential.name } };
		}
	}
	return {
		...copy,
		id: workflowId,
		name: `${String(copy.name)} [${credential.mode}]`,
		active: false,
	};
}

/** Names of the example's sticky notes' texts (each example must explain itself). */
export function stickyNoteTexts(example: JsonObject): string[] {
	const nodes = Array.isArray(example.nodes) ? example.nodes : [];
	return nodes
		.filter(
			(node): node is JsonObject => isObject(node) && node.type === 'n8n-nodes-base.stickyNote',
		)
		.map((node) => (isObject(node.parameters) ? String(node.parameters.content ?? '') : ''));
}

export function twin24Nodes(example: JsonObject): JsonObject[] {
	const nodes = Array.isArray(example.nodes) ? example.nodes : [];
	return nodes.filter(
		(node): node is JsonObject =>
			isObject(node) && (node.type === TWIN24_NODE_TYPE || node.type === TWIN24_TOOL_TYPE),
	);
}

export const PATHS = {
	callDepersonalize: (id: string): string =>
		`/cis/api/v1/calls/${encodeURIComponent(id)}/depersonalization`,
	candidateDepersonalize: (id: string): string =>
		`/cis/api/v1/telephony/autoCallCandidate/${encodeURIComponent(id)}/depersonalization`,
	callRecord: (id: string): string => `/cis/api/v1/calls/${encodeURIComponent(id)}/record`,
	login: '/iam/api/v1/auth/login',
} as const;
