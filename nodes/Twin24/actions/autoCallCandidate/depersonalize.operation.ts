import type { IExecuteFunctions } from 'n8n-workflow';
import { updateDisplayOptions } from 'n8n-workflow';

import { CANDIDATE_ID_EXAMPLE, idField, skipDeleteRecordField } from '../descriptions';
import type { ErasureOperation, ErasureRequest } from '../erasure';
import { depersonalizationRequest } from '../erasure';
import { readSkipDeleteRecord } from '../../run/itemPlan';

/** POST {cis}/telephony/autoCallCandidate/{autoCallCandidateId}/depersonalization */
export const depersonalizeAutoCallCandidate: ErasureOperation = {
	action: 'depersonalize auto call candidate',
	idParameter: 'autoCallCandidateId',
	idLabel: 'Auto Call Candidate ID',
	idExample: CANDIDATE_ID_EXAMPLE,
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
