/** Which route a request names: method and raw path, with the ID decoded. */
import { CIS_BASE_PATH, IAM_BASE_PATH } from './constants';
import type { ErasureRoute, RouteName } from './types';

export interface RouteMatch {
	route: RouteName;
	id: string | undefined;
	idMalformed: boolean;
}

interface IdRoute {
	route: ErasureRoute;
	method: string;
	prefix: string;
	suffix: string;
}

const NO_ROUTE: RouteMatch = { route: 'unknown', id: undefined, idMalformed: false };
const LOGIN_PATH = `${IAM_BASE_PATH}/auth/login`;
const ME_PATH = `${IAM_BASE_PATH}/users/me`;
const ID_ROUTES: readonly IdRoute[] = [
	{
		route: 'call.depersonalize',
		method: 'POST',
		prefix: `${CIS_BASE_PATH}/calls/`,
		suffix: '/depersonalization',
	},
	{
		route: 'call.deleteRecord',
		method: 'DELETE',
		prefix: `${CIS_BASE_PATH}/calls/`,
		suffix: '/record',
	},
	{
		route: 'candidate.depersonalize',
		method: 'POST',
		prefix: `${CIS_BASE_PATH}/telephony/autoCallCandidate/`,
		suffix: '/depersonalization',
	},
];

export function splitUrl(url: string): { path: string; query: string } {
	const mark = url.indexOf('?');
	return mark === -1
		? { path: url, query: '' }
		: { path: url.slice(0, mark), query: url.slice(mark + 1) };
}

/** Matches method + raw path. No normalisation: an ID is exactly one raw segment. */
export function matchRoute(method: string, path: string): RouteMatch {
	if (path === LOGIN_PATH) return method === 'POST' ? { ...NO_ROUTE, route: 'login' } : NO_ROUTE;
	if (path === ME_PATH) return method === 'GET' ? { ...NO_ROUTE, route: 'me' } : NO_ROUTE;
	for (const candidate of ID_ROUTES) {
		const rawId = rawIdSegment(candidate, method, path);
		if (rawId !== undefined) return decodeIdSegment(candidate.route, rawId);
	}
	return NO_ROUTE;
}

function rawIdSegment(route: IdRoute, method: string, path: string): string | undefined {
	if (method !== route.method || path.length <= route.prefix.length + route.suffix.length)
		return undefined;
	if (!path.startsWith(route.prefix) || !path.endsWith(route.suffix)) return undefined;
	const rawId = path.slice(route.prefix.length, path.length - route.suffix.length);
	return rawId.includes('/') ? undefined : rawId;
}

function decodeIdSegment(route: ErasureRoute, rawId: string): RouteMatch {
	let id: string;
	try {
		id = decodeURIComponent(rawId);
	} catch {
		return { route, id: undefined, idMalformed: true };
	}
	// A real server or proxy resolves dot segments, so they never name an item on this route.
	if (id === '.' || id === '..') return NO_ROUTE;
	return { route, id, idMalformed: false };
}
