import type { IExecuteFunctions } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { idField, skipDeleteRecordField } from '../descriptions';
import type { ErasureOperation, ErasureRequest } from '../erasure';
import { depersonalizationRequest, readSkipDeleteRecord } from '../erasure';

/** POST {cis}/telephony/autoCallCandidate/{autoCallCandidateId}/depersonalization */
export const depersonalizeAutoCallCandidate: ErasureOperation = {
	action: 'depersonalize auto call candidate',
	idParameter: 'autoCallCandidateId',
	idLabel: 'Auto Call Candidate ID',
	description: updateDisplayOptions(
		{ show: { resource: ['autoCallCandidate'], operation: ['depersonalize'] } },
		[
			idField(
				'autoCallCandidateId',
				'Auto Call Candidate ID',
				'ID of the auto call candidate whose personal data is erased permanently',
			),
			skipDeleteRecordField,
		],
	),
	buildRequest(this: IExecuteFunctions, itemIndex: number, candidateId: string): ErasureRequest {
		return depersonalizationRequest(
			['telephony', 'autoCallCandidate', candidateId, 'depersonalization'],
			readSkipDeleteRecord(this, itemIndex),
		);
	},
};
