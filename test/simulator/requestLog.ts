/** The request log tests assert on, and the erasures read from it. */
import { isErasureRoute } from './shared';
import type { ErasureRecord, ErasureRoute, RecordedRequest } from './types';

function erasureKey(route: ErasureRoute, id: string): string {
	return `${route}\u0000${id}`;
}

export class RequestLog {
	readonly entries: RecordedRequest[] = [];
	private nextSeq = 1;

	append(fields: Omit<RecordedRequest, 'seq'>): RecordedRequest {
		const entry: RecordedRequest = { seq: this.nextSeq++, ...fields };
		this.entries.push(entry);
		return entry;
	}

	clear(): void {
		this.entries.length = 0;
	}

	restart(): void {
		this.clear();
		this.nextSeq = 1;
	}

	erasures(): ErasureRecord[] {
		const result: ErasureRecord[] = [];
		for (const entry of this.entries) {
			if (!entry.applied || entry.id === undefined || !isErasureRoute(entry.route)) continue;
			result.push({ route: entry.route, id: entry.id, skipDeleteRecord: entry.skipDeleteRecord });
		}
		return result;
	}

	/** Erasure requests sent after an earlier request for the same (route, id) succeeded. */
	duplicateErasures(): number {
		const firstSuccess = new Map<string, number>();
		for (const entry of this.entries) {
			if (!entry.applied || entry.id === undefined || !isErasureRoute(entry.route)) continue;
			const key = erasureKey(entry.route, entry.id);
			if (!firstSuccess.has(key)) firstSuccess.set(key, entry.seq);
		}
		let duplicates = 0;
		for (const entry of this.entries) {
			if (entry.id === undefined || !isErasureRoute(entry.route)) continue;
			const successSeq = firstSuccess.get(erasureKey(entry.route, entry.id));
			if (successSeq !== undefined && entry.seq > successSeq) duplicates += 1;
		}
		return duplicates;
	}
}
