import type { IExecuteFunctions } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { CALL_ID_EXAMPLE, idField, skipDeleteRecordField } from '../descriptions';
import type { ErasureOperation, ErasureRequest } from '../erasure';
import { depersonalizationRequest } from '../erasure';
import { readSkipDeleteRecord } from '../../run/itemPlan';

/** POST {cis}/calls/{callId}/depersonalization */
export const depersonalizeCall: ErasureOperation = {
	action: 'depersonalize call',
	idParameter: 'callId',
	idLabel: 'Call ID',
	idExample: CALL_ID_EXAMPLE,
	description: updateDisplayOptions(
		{ show: { resource: ['call'], operation: ['depersonalize'] } },
		[
			idField('callId', 'Call ID', 'ID of the call whose personal data is erased permanently'),
			skipDeleteRecordField,
		],
	),
	buildRequest(this: IExecuteFunctions, itemIndex: number, callId: string): ErasureRequest {
		return depersonalizationRequest(
			['calls', callId, 'depersonalization'],
			readSkipDeleteRecord(this, itemIndex),
		);
	},
};
