/**
 * The pace's control law, and every constant it has. Change a number here and run `npm run bench`
 * (every row) before and after: a gain on one limit shape that costs another is not a gain.
 *
 * The law is AIMD (additive increase, multiplicative decrease), as TCP congestion control and the
 * AWS SDKs' adaptive retry use it, on a rate of requests per second:
 *
 * - Start: `startRate` (the first `startBurst` at once), doubling every `startDoublingMs` until
 *   the first refusal, never beyond `headroom` × what was really sent lately.
 * - Decrease: a refusal (429, 503: see signals.ts) cuts the rate to `decrease` × what the server
 *   took over the last `windowMs`, as measured from the send record (record.ts); a cut the
 *   server answers with more refusals within a window goes twice as deep. Refusals of requests
 *   sent before a cut echo it. The rate refused at is remembered.
 * - Increase: once 1 / `refusalShare` requests were taken since the cut, the rate grows by a step
 *   of `probeStep` requests per second that doubles every `probeDoublingMs`: the same for every
 *   sender, so that n8n processes sharing an account converge on equal shares, and accelerating,
 *   so that a limit that rose is found in seconds. With less work left than `probeWorthMs` at the
 *   rate, it keeps to the rate last refused (half a cut below a whole window's reading, which may
 *   hold a burst; at one read early in a run, from the start's burst to the refused request) until
 *   a refusal that holds a run `probeWorthMs` is a `refusalShare` of what was taken.
 * - Closed: refused again with nothing sent since the cut taken, the server takes nothing: every
 *   request waits for its Retry-After, or for `closedPauseMs` doubling up to `closedPauseCapMs`.
 *
 * Beside the law, what the server announces is kept to as it is (limits.ts): a quota with its
 * window, a quota left until its reset, and a cap on requests in flight (found, then probed).
 */
export const PACE_TUNING = {
	/**
	 * Requests per second before anything is known: a tenth of the 500/s that Concurrency 10 at
	 * 20 ms could send, so that the first refusals meet few requests in flight.
	 */
	startRate: 50,
	/** Requests let through at once at the very start (one per default Concurrency slot). */
	startBurst: 10,
	/**
	 * Slow start doubles this often: from 50/s, 100/s is reached in 0.2 s and 400/s in 0.6 s, while
	 * each step still sees the answers (20–100 ms) of the step before it.
	 */
	startDoublingMs: 200,
	/** The window the server's rate is measured over: limits count "per second". */
	windowMs: 1000,
	/**
	 * A cut keeps this share of what the server took. The rate is measured, not guessed, so the cut
	 * needs only to clear what was in flight: 5 % (TCP's and the AWS SDKs' 30–50 % guess at a rate
	 * they cannot measure).
	 */
	decrease: 0.95,
	/**
	 * The share of requests the pace may spend on finding the limit: after a cut the probe waits
	 * until 1 / refusalShare requests were taken, so that its next refusal is at most this share
	 * of them, whatever the limit (at 10/s a probe every 3 s, at 100/s every 0.3 s).
	 */
	refusalShare: 0.03,
	/** The probe's first step, in requests per second: the same for every sender (fairness). */
	probeStep: 1,
	/**
	 * The probe's step doubles this often: once it starts, a cut of 5 % at 100/s is won back in
	 * half a second, and a limit that tripled from 30/s is found within a second and a half.
	 */
	probeDoublingMs: 200,
	/**
	 * The rate never grows beyond this multiple of what was really sent lately (the AWS SDKs use
	 * the same 2): a rate not used (few items, a busy process) cannot grow into a burst later.
	 */
	headroom: 2,
	/** The lowest rate: one request every two seconds still finds out when the server has room. */
	lowestRate: 0.5,
	/**
	 * Beyond the rate last refused, a probe costs a refusal, and the refused request waits a whole
	 * Retry-After (one second at least). With less work left than this, it cannot win that back.
	 */
	probeWorthMs: 1200,
	/** The first wait when the server takes nothing and gives no Retry-After; doubles each time. */
	closedPauseMs: 250,
	/** ... up to this, so that a server that comes back is found within half a minute. */
	closedPauseCapMs: 30_000,
	/** Fewer requests than this in the window say too little to measure a rate from. */
	minSamples: 8,
	/**
	 * A cap on requests in flight that held this long without a refusal is tried one higher, and
	 * twice as long after each time that one more was refused: a cap that rose is found.
	 */
	capProbeMs: 2000,
	/**
	 * Refusals below a number in flight, as a share of the answers there, that still allow a cap
	 * at it: under a cap they are none but for answers still on their way back when the next
	 * request went; under a rate they are as common as above it.
	 */
	capRefusedBelow: 0.1,
} as const;
