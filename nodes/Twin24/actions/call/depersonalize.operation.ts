import type { IExecuteFunctions } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { idField, skipDeleteRecordField } from '../descriptions';
import type { ErasureOperation, ErasureRequest } from '../erasure';
import { depersonalizationRequest, readSkipDeleteRecord } from '../erasure';

/** POST {cis}/calls/{callId}/depersonalization */
export const depersonalizeCall: ErasureOperation = {
	action: 'depersonalize call',
	idParameter: 'callId',
	idLabel: 'Call ID',
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
