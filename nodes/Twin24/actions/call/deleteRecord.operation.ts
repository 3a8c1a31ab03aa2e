import type { ErasureOperation, ErasureRequest } from '../erasure';
import { CALL_ID_EXAMPLE, idField } from '../descriptions';
import { updateDisplayOptions } from 'n8n-workflow';

/** DELETE {cis}/calls/{callId}/record: the audio only; the call and its other data stay. */
export const deleteCallRecord: ErasureOperation = {
	action: 'delete the recording of call',
	idParameter: 'callId',
	idLabel: 'Call ID',
	idExample: CALL_ID_EXAMPLE,
	description: updateDisplayOptions({ show: { resource: ['call'], operation: ['deleteRecord'] } }, [
		idField('callId', 'Call ID', 'ID of the call whose audio recording is deleted permanently'),
	]),
	buildRequest(_itemIndex: number, callId: string): ErasureRequest {
		return { method: 'DELETE', path: ['calls', callId, 'record'], recordDeleted: true };
	},
};
