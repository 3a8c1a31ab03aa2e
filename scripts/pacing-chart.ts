/**
 * The pacing bench as a picture: for each situation, the requests the simulator admitted and
 * refused (429 or 503) in each 100 ms from the run's first request, against the limit (per 100 ms).
 * One panel per situation; panels of like length share a time scale (5, 10, 20, 30, 60 s …), so a
 * 30 s run does not squeeze the 3 s ones. Plain SVG, no dependency.
 */
import type { RecordedStatus, RecordedRequest } from '../test/simulator/simulator';

export interface ChartPanel {
	title: string;
	/** What the table says about it, e.g. "1.02 × floor, 1.0 % refused". */
	note: string;
	/** The measured requests (no warm-up), in the order they reached the simulator. */
	log: readonly RecordedRequest[];
	/** The limit in requests per second, so many ms after the run's first request. */
	limitAt(ms: number): number;
}

const BIN_MS = 100;
const WIDTH = 960;
const LEFT = 44;
const RIGHT = 12;
const TITLE_HEIGHT = 18;
const PLOT_HEIGHT = 64;
const AXIS_HEIGHT = 22;
const PANEL_HEIGHT = TITLE_HEIGHT + PLOT_HEIGHT + AXIS_HEIGHT;
const LEGEND_HEIGHT = 30;
const COLOURS = { admitted: '#3b7dd8', refused: '#d9534f', limit: '#222222', axis: '#999999' };
/** The time scales a panel may have, in seconds: the shortest its run fits in. */
const SCALES_SECONDS = [5, 10, 20, 30, 60, 120, 300, 600];

/** A limit's refusal: 429, or 503 (nginx's limit_req, an overloaded API); the simulator injects no other 503 in the bench. */
export function isRefusal(status: RecordedStatus | undefined): boolean {
	return status === 429 || status === 503;
}

interface Bin {
	admitted: number;
	refused: number;
}

function bins(log: readonly RecordedRequest[]): Bin[] {
	const start = log[0]?.startedAt ?? 0;
	const counts: Bin[] = [];
	for (const entry of log) {
		const index = Math.floor((entry.startedAt - start) / BIN_MS);
		for (let missing = counts.length; missing <= index; missing++)
			counts.push({ admitted: 0, refused: 0 });
		if (isRefusal(entry.status)) counts[index].refused++;
		else counts[index].admitted++;
	}
	return counts;
}

function escapeXml(text: string): string {
	return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function number(value: number): string {
	return String(Math.round(value * 10) / 10);
}

function legend(): string {
	const y = 18;
	return [
		`<rect x="${LEFT}" y="${y - 9}" width="12" height="10" fill="${COLOURS.admitted}"/>`,
		`<text x="${LEFT + 18}" y="${y}">admitted per 100 ms</text>`,
		`<rect x="${LEFT + 170}" y="${y - 9}" width="12" height="10" fill="${COLOURS.refused}"/>`,
		`<text x="${LEFT + 188}" y="${y}">refused (429 or 503) per 100 ms</text>`,
		`<line x1="${LEFT + 390}" y1="${y - 4}" x2="${LEFT + 414}" y2="${y - 4}" stroke="${COLOURS.limit}" stroke-dasharray="4 3"/>`,
		`<text x="${LEFT + 420}" y="${y}">the limit (or what is left of it) per 100 ms</text>`,
	].join('');
}

function panel(chart: ChartPanel, top: number, seconds: number): string {
	const counts = bins(chart.log);
	const plotWidth = WIDTH - LEFT - RIGHT;
	const x = (ms: number) => LEFT + (ms / (seconds * 1000)) * plotWidth;
	const limits = counts.map((_, index) => (chart.limitAt(index * BIN_MS) * BIN_MS) / 1000);
	const highest = Math.max(
		1,
		...counts.map((bin) => bin.admitted + bin.refused),
		...limits.map((limit) => 2 * limit),
	);
	const plotTop = top + TITLE_HEIGHT;
	const bottom = plotTop + PLOT_HEIGHT;
	const y = (count: number) => bottom - (count / highest) * PLOT_HEIGHT;
	const width = Math.max(0.5, x(BIN_MS) - x(0) - 0.5);
	const parts: string[] = [
		`<text x="${LEFT}" y="${top + 13}" font-weight="bold">${escapeXml(chart.title)}</text>`,
		`<text x="${WIDTH - RIGHT}" y="${top + 13}" text-anchor="end">${escapeXml(chart.note)}</text>`,
	];
	parts.push(...bars(counts, { x, y, bottom, width }));
	const steps = limits.flatMap((limit, index) => [
		`${number(x(index * BIN_MS))},${number(y(limit))}`,
		`${number(x((index + 1) * BIN_MS))},${number(y(limit))}`,
	]);
	parts.push(
		`<polyline points="${steps.join(' ')}" fill="none" stroke="${COLOURS.limit}" stroke-dasharray="4 3"/>`,
		`<line x1="${LEFT}" y1="${bottom}" x2="${WIDTH - RIGHT}" y2="${bottom}" stroke="${COLOURS.axis}"/>`,
		`<text x="${LEFT - 4}" y="${plotTop + 9}" text-anchor="end">${Math.round(highest)}</text>`,
		`<text x="${LEFT - 4}" y="${bottom}" text-anchor="end">0</text>`,
	);
	parts.push(...ticks(x, bottom, seconds));
	return parts.join('');
}

/** Each 100 ms: the admitted requests, the refused ones stacked on them. */
function bars(
	counts: readonly Bin[],
	plot: { x: (ms: number) => number; y: (count: number) => number; bottom: number; width: number },
): string[] {
	const { x, y, bottom, width } = plot;
	const parts: string[] = [];
	counts.forEach((bin, index) => {
		const left = number(x(index * BIN_MS));
		if (bin.admitted > 0)
			parts.push(
				`<rect x="${left}" y="${number(y(bin.admitted))}" width="${number(width)}" height="${number(bottom - y(bin.admitted))}" fill="${COLOURS.admitted}"/>`,
			);
		if (bin.refused > 0)
			parts.push(
				`<rect x="${left}" y="${number(y(bin.admitted + bin.refused))}" width="${number(width)}" height="${number(y(bin.admitted) - y(bin.admitted + bin.refused))}" fill="${COLOURS.refused}"/>`,
			);
	});
	return parts;
}

/** A tick each second (each 5 s on long scales), a label each 2 s (each 10 s on long scales). */
function ticks(x: (ms: number) => number, bottom: number, seconds: number): string[] {
	const tickEvery = seconds > 30 ? 5 : 1;
	const labelEvery = seconds > 30 ? 10 : 2;
	const parts: string[] = [];
	for (let second = 0; second <= seconds; second += tickEvery) {
		parts.push(
			`<line x1="${number(x(second * 1000))}" y1="${bottom}" x2="${number(x(second * 1000))}" y2="${bottom + 4}" stroke="${COLOURS.axis}"/>`,
		);
		if (second % labelEvery === 0)
			parts.push(
				`<text x="${number(x(second * 1000))}" y="${bottom + 16}" text-anchor="middle">${second} s</text>`,
			);
	}
	return parts;
}

/** The shortest of the scales that holds the panel's run, or its own length beyond them all. */
function scaleOf(chart: ChartPanel): number {
	const log = chart.log;
	const ms = log.length === 0 ? 0 : log[log.length - 1].startedAt - log[0].startedAt;
	const seconds = Math.max(1, Math.ceil(ms / 1000));
	return SCALES_SECONDS.find((scale) => scale >= seconds) ?? seconds;
}

/** The whole chart as an SVG document. */
export function pacingChart(panels: readonly ChartPanel[]): string {
	const height = LEGEND_HEIGHT + panels.length * PANEL_HEIGHT;
	const body = panels.map((chart, index) =>
		panel(chart, LEGEND_HEIGHT + index * PANEL_HEIGHT, scaleOf(chart)),
	);
	return [
		`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
		`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
		legend(),
		...body,
		'</svg>',
		'',
	].join('\n');
}
