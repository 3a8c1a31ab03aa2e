import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { runErasures } from '../run/erasureRun';
import { readRunSettings } from '../run/itemPlan';
import { startRecord } from '../run/repeats';
import { depersonalizeAutoCallCandidate } from './autoCallCandidate/depersonalize.operation';
import { deleteCallRecord } from './call/deleteRecord.operation';
import { depersonalizeCall } from './call/depersonalize.operation';
import type { ErasureOperation } from './erasure';

export const operations: Record<string, Record<string, ErasureOperation>> = {
	call: { depersonalize: depersonalizeCall, deleteRecord: deleteCallRecord },
	autoCallCandidate: { depersonalize: depersonalizeAutoCallCandidate },
};

/** Finds the operation the node is set to and runs it over the input items. */
export async function router(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	startRecord(this);
	const resource = this.getNodeParameter('resource', 0) as string;
	const operationName = this.getNodeParameter('operation', 0) as string;
	const operation = operations[resource]?.[operationName];
	if (operation === undefined) {
		throw new NodeOperationError(
			this.getNode(),
			`The operation "${operationName}" is not supported for "${resource}"`,
		);
	}
	const settings = readRunSettings(this);
	return [await runErasures(this, operation, `${resource}.${operationName}`, settings)];
}
