/** Constants and small helpers that more than one of the simulator's files use. */
import type { ErasureRoute, RouteName, SimulatorSwitches } from './types';

export const JSON_TYPE = 'application/json; charset=utf-8';
const ERASURE_ROUTES: ReadonlySet<RouteName> = new Set<RouteName>([
	'call.depersonalize',
	'call.deleteRecord',
	'candidate.depersonalize',
]);
export const API_ROUTES: ReadonlySet<string> = new Set<string>(['login', 'me', ...ERASURE_ROUTES]);

export const SWITCH_NAMES: readonly (keyof SimulatorSwitches)[] = [
	'latencyMs',
	'rateLimit',
	'faults',
	'acceptAnyId',
	'tokenTtlSeconds',
	'maxTokenTtlSeconds',
	'logBodies',
	'logHeaders',
];

export function isRecord(value: unknown): value is Record<string, unknown> {
	return (
		typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value)
	);
}

export function isErasureRoute(route: RouteName): route is ErasureRoute {
	return ERASURE_ROUTES.has(route);
}

export function errorMessage(error: unknown): string {
	return error instanceof Error ? error.message : String(error);
}
