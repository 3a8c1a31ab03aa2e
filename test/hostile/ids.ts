/** Hostile IDs (issue 4): what the ID expression resolves to, and the one request or why the ID is invalid. */
/** Either exactly one request whose single path segment decodes to `sent`, or an invalid ID. */
export type IdExpectation = { sent: string } | { invalid: RegExp };

export interface IdCase {
	name: string;
	/** The value the ID expression `{{ $json.id }}` resolves to. */
	id: unknown;
	expect: IdExpectation;
}

const sentAs = (id: string): IdExpectation => ({ sent: id });
const invalidFor = (reason: RegExp): IdExpectation => ({ invalid: reason });

const EMPTY = /empty/;
const FORBIDDEN_CHARACTER = /contains "[/\\?#]"/;
const SPACE_OR_CONTROL = /space or control character/;
const PATH_STEP = /path step/;
const TOO_LONG = /characters long/;

export const ID_CASES: readonly IdCase[] = [
	{ name: 'empty string', id: '', expect: invalidFor(EMPTY) },
	{ name: 'blank: spaces only', id: '    ', expect: invalidFor(EMPTY) },
	{ name: 'blank: tabs and line breaks only', id: '\t\r\n ', expect: invalidFor(EMPTY) },
	{ name: 'surrounding spaces are trimmed', id: '  call-42  ', expect: sentAs('call-42') },
	{ name: 'surrounding tab and newline are trimmed', id: '\tcall-42\n', expect: sentAs('call-42') },
	{ name: 'space inside', id: 'call 42', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'slash', id: 'a/b', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'traversal 1/../../x', id: '1/../../x', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'leading slash', id: '/record', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'dot-dot', id: '..', expect: invalidFor(PATH_STEP) },
	{ name: 'single dot', id: '.', expect: invalidFor(PATH_STEP) },
	{ name: 'dot-dot inside spaces', id: ' .. ', expect: invalidFor(PATH_STEP) },
	{ name: 'three dots are a plain segment', id: '...', expect: sentAs('...') },
	{ name: 'encoded slash %2F stays literal', id: '%2F', expect: sentAs('%2F') },
	{ name: 'encoded traversal %2E%2E%2F', id: '%2E%2E%2Fadmin', expect: sentAs('%2E%2E%2Fadmin') },
	{ name: 'encoded dot-dot %2E%2E', id: '%2E%2E', expect: sentAs('%2E%2E') },
	{ name: 'lone percent sign', id: '%', expect: sentAs('%') },
	{ name: 'malformed escape %zz', id: 'x%zz', expect: sentAs('x%zz') },
	{ name: 'encoded NUL %00', id: 'a%00b', expect: sentAs('a%00b') },
	{ name: 'question mark', id: 'a?b', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'query injection', id: 'x?admin=true', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'hash', id: 'a#b', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'backslash', id: 'a\\b', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'backslash traversal', id: '..\\..\\x', expect: invalidFor(FORBIDDEN_CHARACTER) },
	{ name: 'tab inside', id: 'a\tb', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'CR LF inside', id: 'a\r\nX-Injected: 1', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'NUL inside', id: 'a\u0000b', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'DEL inside', id: 'a\u007fb', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'C1 control NEL inside', id: 'a\u0085b', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'no-break space inside', id: 'a\u00a0b', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'line separator U+2028 inside', id: 'a\u2028b', expect: invalidFor(SPACE_OR_CONTROL) },
	{ name: 'ideographic space inside', id: 'a\u3000b', expect: invalidFor(SPACE_OR_CONTROL) },
	{
		name: 'byte-order mark inside',
		id: 'a\ufeffb',
		expect: invalidFor(/U\+FEFF \(zero-width no-break space \(BOM\)\) at position 2/),
	},
	// trim() would drop a leading BOM silently; it makes the ID invalid like any other invisible character.
	{
		name: 'byte-order mark first',
		id: '\ufeffcall-1',
		expect: invalidFor(/U\+FEFF .* at position 1/),
	},
	{
		name: '256 characters (the longest allowed)',
		id: 'x'.repeat(256),
		expect: sentAs('x'.repeat(256)),
	},
	{ name: '257 characters', id: 'x'.repeat(257), expect: invalidFor(TOO_LONG) },
	{ name: '10,000 characters', id: 'x'.repeat(10_000), expect: invalidFor(TOO_LONG) },
	{ name: '10,000 slashes', id: '/'.repeat(10_000), expect: invalidFor(TOO_LONG) },
	{ name: 'number', id: 12345, expect: sentAs('12345') },
	{ name: 'number zero', id: 0, expect: sentAs('0') },
	{
		name: 'the largest safe whole number',
		id: 9007199254740991,
		expect: sentAs('9007199254740991'),
	},
	{ name: 'negative whole number', id: -7, expect: sentAs('-7') },
	// 9007199254740993 is already 9007199254740992 once JavaScript holds it: another call's ID.
	{
		name: 'a number past 2^53',
		id: JSON.parse('9007199254740993') as number,
		expect: invalidFor(/9007199254740992, too large.*as text/),
	},
	{ name: 'negative fraction', id: -1.5, expect: invalidFor(/-1\.5, not a whole number.*as text/) },
	{ name: 'fraction', id: 1.5, expect: invalidFor(/1\.5, not a whole number/) },
	{ name: 'huge number', id: 1e21, expect: invalidFor(/1e\+21, too large/) },
	// n8n hands non-finite numbers over as null; either way they are invalid.
	{ name: 'NaN', id: Number.NaN, expect: invalidFor(/is empty/) },
	{ name: 'Infinity', id: Number.POSITIVE_INFINITY, expect: invalidFor(/is empty/) },
	{ name: 'boolean true', id: true, expect: invalidFor(/boolean/) },
	{ name: 'boolean false', id: false, expect: invalidFor(/boolean/) },
	{ name: 'null', id: null, expect: invalidFor(/is empty/) },
	{ name: 'missing field (undefined)', id: undefined, expect: invalidFor(/missing|empty/) },
	{ name: 'object', id: { id: 'call-1' }, expect: invalidFor(/object/) },
	{ name: 'empty object', id: {}, expect: invalidFor(/object/) },
	{ name: 'array holding an ID', id: ['call-1'], expect: invalidFor(/list/) },
	{ name: 'empty array', id: [], expect: invalidFor(/list/) },
	{ name: 'Cyrillic', id: 'звонок-1', expect: sentAs('звонок-1') },
	{ name: 'CJK', id: '通話-42', expect: sentAs('通話-42') },
	{ name: 'emoji outside the BMP', id: '📞-1', expect: sentAs('📞-1') },
	{ name: 'combining accent', id: 'cafe\u0301', expect: sentAs('cafe\u0301') },
	{
		name: 'right-to-left override',
		id: 'abc\u202etxt',
		expect: invalidFor(/U\+202E .* at position 4/),
	},
	{
		name: 'zero-width space',
		id: 'a\u200bb',
		expect: invalidFor(/U\+200B \(zero-width space\) at position 2/),
	},
	{
		name: 'zero-width space at the end of a UUID',
		id: '3f2c8a4e-7b1d-4c9a-9e1f-2a6b5d8c0e11\u200b',
		expect: invalidFor(/U\+200B \(zero-width space\) at position 37/),
	},
	{
		name: 'word joiner',
		id: 'call\u2060-1',
		expect: invalidFor(/U\+2060 \(word joiner\) at position 5/),
	},
	{
		name: 'soft hyphen',
		id: 'call\u00ad1',
		expect: invalidFor(/U\+00AD \(soft hyphen\) at position 5/),
	},
	{ name: 'lone surrogate (cannot be encoded)', id: '\ud800x', expect: invalidFor(/./) },
	{ name: 'expression syntax is data', id: '{{$json.secret}}', expect: sentAs('{{$json.secret}}') },
	{ name: 'leading = is data', id: '=1+1', expect: sentAs('=1+1') },
	{ name: 'reserved characters ;=&+@:', id: 'a;b=c&d+e@f:g', expect: sentAs('a;b=c&d+e@f:g') },
	{ name: 'quotes and angle brackets', id: `'"<img>`, expect: sentAs(`'"<img>`) },
	{ name: 'the word null', id: 'null', expect: sentAs('null') },
];
